import { ByteWriter } from '../../bytes.js';
import { BLE_COMPANY_ID, BLE_SERVICE_UUID } from '../../lock/transport/ble-gatt.js';

/** Legacy advertising and scan response payloads are at most 31 octets (Vol 6 Part B §2.3.1). */
export const MAX_AD_LENGTH = 31;

/** AD types (Bluetooth Assigned Numbers, "Common Data Types"). */
export enum AdType {
  Flags = 0x01,
  Complete128BitUuids = 0x07,
  CompleteLocalName = 0x09,
  ManufacturerSpecific = 0xff,
}

/** LE General Discoverable Mode | BR/EDR Not Supported. */
export const AD_FLAGS_LE_GENERAL = 0x06;

export interface AdStructure {
  type: number;
  data: Uint8Array;
}

/** Concatenates AD structures (length, type, data); throws a TypeError past 31 octets. */
export function encodeAdStructures(structures: readonly AdStructure[]): Buffer {
  const w = new ByteWriter();
  for (const s of structures)
    w.u8(s.data.byteLength + 1)
      .u8(s.type)
      .bytes(s.data);
  const bytes = w.toBuffer();
  if (bytes.length > MAX_AD_LENGTH) {
    throw new TypeError(
      `advertising payload is ${bytes.length} octets; legacy advertising carries at most 31`,
    );
  }
  return bytes;
}

/** A 128-bit UUID as AD and ATT carry it: 16 octets, least significant first. */
export function uuid128ToLe(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`not a 128-bit UUID: ${uuid}`);
  return Buffer.from(hex, 'hex').reverse();
}

/** What a lock advertises; the caller takes every field from the lock's own state. */
export interface LockAdvertisingFields {
  /** 1-16 characters; becomes the Complete Local Name. */
  lockId: string;
  protocolVersion: number;
  sealState: number;
  /** Events in the lock's log; carried modulo 65536, so a change still shows after wrapping. */
  eventCount: number;
  /** SHA-256 of the manifest; its first 4 bytes are advertised. */
  manifestSha256: Uint8Array;
  /**
   * The RX characteristic's value handle, announced for the layout of PROTOCOL.md §13.5
   * (revision 1.3; 1-255); omitted, the scan response is that of revision 1.2.
   */
  rxHandle?: number;
}

export interface AdvertisingPayloads {
  advertisingData: Buffer;
  scanResponseData: Buffer;
}

/**
 * The lock's advertising layout (PROTOCOL.md §10, BLE mapping): ADV_IND carries flags and
 * the 128-bit lock service UUID; the scan response carries the lock id as Complete Local
 * Name and Manufacturer Specific Data = company id (LE), protocol version u8, seal state u8,
 * event count u16 LE, manifest SHA-256[0..4] and (revision 1.3, §13.5) the RX value handle
 * u8. With a 16-character lock id and the handle the scan response is its full 31 octets.
 */
export function lockAdvertising(f: LockAdvertisingFields): AdvertisingPayloads {
  if (f.manifestSha256.byteLength < 4) throw new TypeError('manifestSha256 must have at least 4 bytes');
  const name = Buffer.from(f.lockId, 'utf8');
  if (name.length < 1 || name.length > 16) throw new TypeError('lockId must be 1-16 bytes');
  if (f.rxHandle !== undefined && !(Number.isInteger(f.rxHandle) && f.rxHandle >= 1 && f.rxHandle <= 255))
    throw new TypeError('rxHandle must be 1-255');
  const w = new ByteWriter()
    .u16le(BLE_COMPANY_ID)
    .u8(f.protocolVersion)
    .u8(f.sealState)
    .u16le(f.eventCount & 0xffff)
    .bytes(f.manifestSha256.subarray(0, 4));
  if (f.rxHandle !== undefined) w.u8(f.rxHandle);
  const manufacturer = w.toBuffer();
  return {
    advertisingData: encodeAdStructures([
      { type: AdType.Flags, data: Uint8Array.of(AD_FLAGS_LE_GENERAL) },
      { type: AdType.Complete128BitUuids, data: uuid128ToLe(BLE_SERVICE_UUID) },
    ]),
    scanResponseData: encodeAdStructures([
      { type: AdType.CompleteLocalName, data: name },
      { type: AdType.ManufacturerSpecific, data: manufacturer },
    ]),
  };
}
