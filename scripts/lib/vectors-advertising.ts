import { BLE_RX_UUID, BLE_TX_UUID } from '../../src/lock/transport/ble-gatt.js';
import { lockAdvertising } from '../../src/sim/ble/advertising-data.js';
import { AttrKind, GattDatabase, lockGattServices } from '../../src/sim/ble/gatt-db.js';
import { hex, VECTOR_LOCK_ID, vectorLock } from './vector-helpers.js';

/** What a scan response says (PROTOCOL.md §13.2). */
export interface AdvertisementFields {
  lockId: string;
  protocolVersion: number;
  sealState: number;
  eventCount: number;
  /** The first 4 bytes of `mhash`, hex. */
  manifestHashPrefix: string;
  rxHandle?: number;
}

/** One attribute of the layout of §13.5 as a Read Request returns it. */
export interface LayoutAttribute {
  handle: number;
  attribute: string;
  /** The attribute type: a 16-bit UUID as 4 hex digits, or a 128-bit one. */
  type: string;
  /** The value, hex; absent for the values of RX and TX (written and notified, not read). */
  value?: string;
}

/** A lock's scan response as it goes on air (revision 1.3: kind "advertisement"). */
export interface AdvertisementVector {
  name: string;
  description: string;
  kind: 'advertisement';
  /** The scan response data: AD structures, hex. */
  scanResponse: string;
  fields: AdvertisementFields;
  /** With `fields.rxHandle`: the attributes the announcement promises (§13.5). */
  layout?: LayoutAttribute[];
  note: string;
}

const NAMES = ['RX declaration', 'RX value', 'TX declaration', 'TX value', 'TX CCCD'];

/**
 * The scan response of the vector lock (§15) before and after revision 1.3, and the part of
 * its attribute table the announced handle promises: the GAP service at 1–5 (Device Name,
 * Appearance), the lock service from 6, RX's value at 8.
 */
export function buildAdvertisementVectors(): AdvertisementVector[] {
  const { info } = vectorLock();
  const db = new GattDatabase(lockGattServices(VECTOR_LOCK_ID));
  const rxHandle = db.rxHandle!;
  const base = {
    lockId: VECTOR_LOCK_ID,
    protocolVersion: 1,
    sealState: info.seal,
    eventCount: info.ecount,
    manifestSha256: info.mhash,
  };
  const fields: AdvertisementFields = {
    lockId: VECTOR_LOCK_ID,
    protocolVersion: 1,
    sealState: info.seal,
    eventCount: info.ecount,
    manifestHashPrefix: hex(info.mhash.subarray(0, 4)),
  };
  const plain = lockAdvertising(base).scanResponseData;
  const announcing = lockAdvertising({ ...base, rxHandle }).scanResponseData;
  const layout = NAMES.map((attribute, i): LayoutAttribute => {
    const a = db.get(rxHandle - 1 + i)!;
    const type =
      a.kind === AttrKind.Value ? (i === 1 ? BLE_RX_UUID : BLE_TX_UUID) : hex(Buffer.from(a.type).reverse());
    return {
      handle: a.handle,
      attribute,
      type,
      ...(a.kind === AttrKind.Value ? {} : { value: hex(a.value) }),
    };
  });
  return [
    {
      name: 'scan-response',
      description:
        'the scan response of a lock of revision 1.2: Complete Local Name and 10 bytes of Manufacturer Specific Data',
      kind: 'advertisement',
      scanResponse: hex(plain),
      fields,
      note: `${plain.byteLength} octets`,
    },
    {
      name: 'scan-response-handles',
      description:
        'the same lock of revision 1.3 announcing its RX value handle (§13.5): one more byte of Manufacturer Specific Data',
      kind: 'advertisement',
      scanResponse: hex(announcing),
      fields: { ...fields, rxHandle },
      layout,
      note: `${announcing.byteLength} octets; the RX declaration's properties 0x0c are Write Without Response and Write`,
    },
  ];
}
