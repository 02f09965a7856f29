import { ByteWriter } from '../../bytes.js';
import { type AdvType, Evt, H4, LeSub, type Pb } from './hci-constants.js';

/**
 * Encoders of the controller-to-host packets the simulated controller sends, as H4 bytes
 * (indicator first). Parameter layouts from Vol 4 Part E §7.7; multi-octet fields are
 * little-endian, addresses are sent least significant octet first.
 */

function event(code: number, params: Buffer): Buffer {
  if (params.length > 255) throw new RangeError(`event parameters too long: ${params.length}`);
  return Buffer.concat([Buffer.of(H4.Event, code, params.length), params]);
}

/** "aa:bb:cc:dd:ee:ff" → 6 octets, least significant first, as HCI carries it. */
export function addressToHci(address: string): Buffer {
  const hex = address.replace(/:/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new TypeError(`not a Bluetooth device address: ${address}`);
  return Buffer.from(hex, 'hex').reverse();
}

/** 6 octets as HCI carries them → "aa:bb:cc:dd:ee:ff"; RangeError when a command's parameters end short of them. */
export function addressFromHci(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new RangeError(`a Bluetooth device address is 6 octets, not ${bytes.length}`);
  return Buffer.from(bytes).reverse().toString('hex').match(/../g)!.join(':');
}

/** Num_HCI_Command_Packets is always 1: the host may send the next command at once. */
export function commandComplete(op: number, status: number, ret: Uint8Array = new Uint8Array(0)): Buffer {
  return event(Evt.CommandComplete, new ByteWriter().u8(1).u16le(op).u8(status).bytes(ret).toBuffer());
}

export function commandStatus(op: number, status: number): Buffer {
  return event(Evt.CommandStatus, new ByteWriter().u8(status).u8(1).u16le(op).toBuffer());
}

export function disconnectionComplete(handle: number, reason: number): Buffer {
  return event(Evt.DisconnectionComplete, new ByteWriter().u8(0).u16le(handle).u8(reason).toBuffer());
}

export function numberOfCompletedPackets(completed: ReadonlyMap<number, number>): Buffer {
  const w = new ByteWriter().u8(completed.size);
  for (const [handle, count] of completed) w.u16le(handle).u16le(count);
  return event(Evt.NumberOfCompletedPackets, w.toBuffer());
}

function leMeta(sub: number, params: Buffer): Buffer {
  return event(Evt.LeMeta, Buffer.concat([Buffer.of(sub), params]));
}

export interface AdvertisingReport {
  type: AdvType;
  addressType: 'public' | 'random';
  address: string;
  data: Uint8Array;
  rssi: number;
}

/** One report per event, as most controllers send them. */
export function leAdvertisingReport(report: AdvertisingReport): Buffer {
  const rssi = Math.max(-127, Math.min(20, Math.round(report.rssi)));
  const w = new ByteWriter()
    .u8(1)
    .u8(report.type)
    .u8(report.addressType === 'random' ? 1 : 0)
    .bytes(addressToHci(report.address))
    .u8(report.data.byteLength)
    .bytes(report.data)
    .u8(rssi & 0xff);
  return leMeta(LeSub.AdvertisingReport, w.toBuffer());
}

export interface ConnectionCompleteFields {
  status: number;
  handle: number;
  peerAddressType: 'public' | 'random';
  peerAddress: string;
  /** In 1.25 ms units. */
  interval: number;
  latency: number;
  /** In 10 ms units. */
  supervisionTimeout: number;
}

export function leConnectionComplete(f: ConnectionCompleteFields): Buffer {
  const w = new ByteWriter()
    .u8(f.status)
    .u16le(f.handle)
    .u8(0) // role: central
    .u8(f.peerAddressType === 'random' ? 1 : 0)
    .bytes(addressToHci(f.peerAddress))
    .u16le(f.interval)
    .u16le(f.latency)
    .u16le(f.supervisionTimeout)
    .u8(0); // central clock accuracy: 500 ppm
  return leMeta(LeSub.ConnectionComplete, w.toBuffer());
}

export function leConnectionUpdateComplete(
  handle: number,
  interval: number,
  latency: number,
  supervisionTimeout: number,
): Buffer {
  const w = new ByteWriter().u8(0).u16le(handle).u16le(interval).u16le(latency).u16le(supervisionTimeout);
  return leMeta(LeSub.ConnectionUpdateComplete, w.toBuffer());
}

/** Octets as negotiated; times are what 1M PHY needs for them: (octets + 14) × 8 µs. */
export function leDataLengthChange(handle: number, txOctets: number, rxOctets: number): Buffer {
  const w = new ByteWriter()
    .u16le(handle)
    .u16le(txOctets)
    .u16le((txOctets + 14) * 8)
    .u16le(rxOctets)
    .u16le((rxOctets + 14) * 8);
  return leMeta(LeSub.DataLengthChange, w.toBuffer());
}

/** An ACL data packet to the host (Vol 4 Part E §5.4.2); broadcast flag 0. */
export function aclData(handle: number, pb: Pb, data: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = H4.Acl;
  header.writeUInt16LE((handle & 0x0fff) | (pb << 12), 1);
  header.writeUInt16LE(data.byteLength, 3);
  return Buffer.concat([header, data]);
}
