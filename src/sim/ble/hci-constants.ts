/**
 * Numbers from the Bluetooth Core Specification 5.3, Vol 4 Part A (UART transport, H4) and
 * Part E (HCI). Only what the simulated controller speaks; names follow the spec.
 */

/** H4 packet indicators (Vol 4 Part A §2). */
export enum H4 {
  Command = 0x01,
  Acl = 0x02,
  Sco = 0x03,
  Event = 0x04,
  Iso = 0x05,
}

/** Opcode = OCF | OGF << 10. */
export function opcode(ogf: number, ocf: number): number {
  return (ogf << 10) | ocf;
}

/** Command opcodes (Vol 4 Part E §7). */
export enum Op {
  Disconnect = 0x0406,
  SetEventMask = 0x0c01,
  Reset = 0x0c03,
  SetEventFilter = 0x0c05,
  ReadLeHostSupported = 0x0c6c,
  WriteLeHostSupported = 0x0c6d,
  ReadLocalVersion = 0x1001,
  ReadLocalSupportedCommands = 0x1002,
  ReadLocalSupportedFeatures = 0x1003,
  ReadBufferSize = 0x1005,
  ReadBdAddr = 0x1009,
  ReadRssi = 0x1405,
  LeSetEventMask = 0x2001,
  LeReadBufferSize = 0x2002,
  LeReadLocalSupportedFeatures = 0x2003,
  LeSetRandomAddress = 0x2005,
  LeSetScanParameters = 0x200b,
  LeSetScanEnable = 0x200c,
  LeCreateConnection = 0x200d,
  LeCreateConnectionCancel = 0x200e,
  LeReadFilterAcceptListSize = 0x200f,
  LeClearFilterAcceptList = 0x2010,
  LeAddDeviceToFilterAcceptList = 0x2011,
  LeRemoveDeviceFromFilterAcceptList = 0x2012,
  LeConnectionUpdate = 0x2013,
  LeStartEncryption = 0x2019,
  LeSetDataLength = 0x2022,
  LeReadSuggestedDefaultDataLength = 0x2023,
  LeWriteSuggestedDefaultDataLength = 0x2024,
  LeReadMaximumDataLength = 0x202f,
  LeSetDefaultPhy = 0x2031,
}

/** Event codes (Vol 4 Part E §7.7). */
export enum Evt {
  DisconnectionComplete = 0x05,
  CommandComplete = 0x0e,
  CommandStatus = 0x0f,
  NumberOfCompletedPackets = 0x13,
  LeMeta = 0x3e,
}

/** LE Meta subevent codes (Vol 4 Part E §7.7.65). */
export enum LeSub {
  ConnectionComplete = 0x01,
  AdvertisingReport = 0x02,
  ConnectionUpdateComplete = 0x03,
  DataLengthChange = 0x07,
}

/** Error codes (Vol 1 Part F). */
export enum Status {
  Success = 0x00,
  UnknownCommand = 0x01,
  UnknownConnectionId = 0x02,
  MemoryCapacityExceeded = 0x07,
  ConnectionTimeout = 0x08,
  ConnectionLimitExceeded = 0x09,
  ConnectionAlreadyExists = 0x0b,
  CommandDisallowed = 0x0c,
  InvalidParameters = 0x12,
  RemoteUserTerminated = 0x13,
  LocalHostTerminated = 0x16,
  UnsupportedFeature = 0x11,
  /** The peripheral never answered the connection request (Vol 6 Part B §4.5.2). */
  ConnectionFailedToBeEstablished = 0x3e,
}

/** Advertising report event types (Vol 4 Part E §7.7.65.2). */
export enum AdvType {
  AdvInd = 0x00,
  AdvScanInd = 0x02,
  AdvNonconnInd = 0x03,
  ScanRsp = 0x04,
}

/** ACL Packet_Boundary_Flag values (Vol 4 Part E §5.4.2). */
export enum Pb {
  FirstNonFlushable = 0x00,
  Continuing = 0x01,
  FirstFlushable = 0x02,
}

/** Power-on defaults of the event masks (Vol 4 Part E §7.3.1 and §7.8.1). */
export const DEFAULT_EVENT_MASK = 0x00001fffffffffffn;
export const DEFAULT_LE_EVENT_MASK = 0x1fn;

/** Link-layer payload sizes (Vol 6 Part B §4.5.10): every controller supports 27. */
export const LL_MIN_OCTETS = 27;
export const LL_MAX_OCTETS = 251;

/** Connection interval unit and range (Vol 4 Part E §7.8.12). */
export const CONN_INTERVAL_UNIT_MS = 1.25;
export const CONN_INTERVAL_MIN = 0x0006;
export const CONN_INTERVAL_MAX = 0x0c80;

/** L2CAP fixed channels on an LE link (Vol 3 Part A §2.1). */
export const CID_ATT = 0x0004;
export const CID_LE_SIGNALING = 0x0005;
export const CID_SMP = 0x0006;

/** ATT default MTU on LE (Vol 3 Part F §3.2.8). */
export const ATT_DEFAULT_MTU = 23;
