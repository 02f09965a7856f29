import { ByteReader } from '../../bytes.js';
import { BLE_COMPANY_ID } from './ble-gatt.js';

/**
 * A lock's scan-response name is its lock id (PROTOCOL.md §13.2): the codec's
 * LOCK_ID_PATTERN, repeated here so the transport needs nothing of the codec
 * (test/architecture.test.ts checks the two agree).
 */
export const SCAN_NAME_PATTERN = /^[A-Z0-9-]{1,16}$/;

/**
 * What a lock says about itself in its scan response (PROTOCOL.md §13.2). Unauthenticated:
 * good enough to decide whom to connect to first and whom to skip, never to trust.
 */
export interface LockAdvertisement {
  lockId: string;
  protocolVersion: number;
  sealState: number;
  /** The event counter, modulo 65536. */
  eventCount: number;
  /** The first 4 bytes of the manifest SHA-256. */
  manifestHashPrefix: Buffer;
  /**
   * The handle of the RX characteristic's value, when the lock announces its GATT layout
   * (PROTOCOL.md §13.5, revision 1.3); undefined when it does not (0, or a lock of 1.2).
   */
  rxHandle?: number;
}

/**
 * The smallest RX value handle a layout can have: a service declaration and RX's
 * characteristic declaration come before it. Smaller announced values are ignored.
 */
export const MIN_ANNOUNCED_RX_HANDLE = 3;

/** Parses a lock's advertisement; undefined for any other device (or a malformed one). */
export function parseLockAdvertisement(
  localName: string | undefined,
  manufacturerData: Uint8Array | undefined,
): LockAdvertisement | undefined {
  if (!localName || !SCAN_NAME_PATTERN.test(localName)) return undefined;
  if (!manufacturerData || manufacturerData.byteLength < 10) return undefined;
  const r = new ByteReader(manufacturerData, 'E_BLE_GATT');
  if (r.u16le() !== BLE_COMPANY_ID) return undefined;
  const advertisement: LockAdvertisement = {
    lockId: localName,
    protocolVersion: r.u8(),
    sealState: r.u8(),
    eventCount: r.u16le(),
    manifestHashPrefix: Buffer.from(r.bytes(4)),
  };
  if (r.remaining >= 1) {
    const rxHandle = r.u8();
    if (rxHandle >= MIN_ANNOUNCED_RX_HANDLE) advertisement.rxHandle = rxHandle;
  }
  return advertisement;
}
