import { ByteWriter } from '../../bytes.js';
import { BLE_RX_UUID, BLE_SERVICE_UUID, BLE_TX_UUID } from '../../lock/transport/ble-gatt.js';

/** Characteristic properties (Vol 3 Part G §3.3.1.1). */
export enum CharProp {
  Read = 0x02,
  WriteWithoutResponse = 0x04,
  Write = 0x08,
  Notify = 0x10,
}

/** GATT attribute types (16-bit, Assigned Numbers). */
export enum AttrType {
  PrimaryService = 0x2800,
  SecondaryService = 0x2801,
  Include = 0x2802,
  Characteristic = 0x2803,
  Cccd = 0x2902,
}

export interface GattCharacteristicSpec {
  /** "2a00" (16-bit) or a 128-bit UUID with or without dashes. */
  uuid: string;
  /** CharProp bits. */
  properties: number;
  /** Value returned by reads (read property). */
  value?: Uint8Array;
  /** 'rx': writes go to the app. 'tx': the app's notifications go out on it. At most one of each. */
  role?: 'rx' | 'tx';
}

export interface GattServiceSpec {
  uuid: string;
  characteristics: readonly GattCharacteristicSpec[];
}

export enum AttrKind {
  Service = 0,
  Declaration = 1,
  Value = 2,
  Cccd = 3,
}

export interface Attribute {
  readonly handle: number;
  readonly kind: AttrKind;
  /** Attribute type as ATT carries it: 2 or 16 octets, little-endian. */
  readonly type: Buffer;
  /** Static value (services, declarations, readable values); CCCD values live per connection. */
  readonly value: Buffer;
  readonly properties: number;
  readonly role: 'rx' | 'tx' | undefined;
}

export interface ServiceRange {
  readonly start: number;
  readonly end: number;
  readonly uuid: Buffer;
}

/** "2a00" → 2 octets; 128-bit → 16 octets; both little-endian. */
export function uuidToAtt(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  if (/^[0-9a-f]{4}$/.test(hex) || /^[0-9a-f]{32}$/.test(hex)) return Buffer.from(hex, 'hex').reverse();
  throw new TypeError(`not a 16- or 128-bit UUID: ${uuid}`);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}

/**
 * A peripheral's attribute table, laid out as a GATT server does: per service a
 * declaration, then per characteristic a declaration, its value and (notify) a CCCD.
 * Handles start at 1 and are contiguous. Immutable; per-connection state (MTU, CCCD values)
 * lives in the ATT server.
 */
export class GattDatabase {
  readonly attributes: readonly Attribute[];
  readonly services: readonly ServiceRange[];
  readonly rxHandle: number | undefined;
  readonly txHandle: number | undefined;
  readonly txCccdHandle: number | undefined;

  constructor(services: readonly GattServiceSpec[]) {
    const attributes: Attribute[] = [];
    const ranges: ServiceRange[] = [];
    let rx: number | undefined;
    let tx: number | undefined;
    let txCccd: number | undefined;
    const add = (a: Omit<Attribute, 'handle'>): number => {
      const handle = attributes.length + 1;
      attributes.push({ ...a, handle });
      return handle;
    };
    for (const service of services) {
      const uuid = uuidToAtt(service.uuid);
      const start = add({
        kind: AttrKind.Service,
        type: u16(AttrType.PrimaryService),
        value: uuid,
        properties: 0,
        role: undefined,
      });
      for (const c of service.characteristics) {
        const valueHandle = attributes.length + 2;
        const charUuid = uuidToAtt(c.uuid);
        add({
          kind: AttrKind.Declaration,
          type: u16(AttrType.Characteristic),
          value: new ByteWriter().u8(c.properties).u16le(valueHandle).bytes(charUuid).toBuffer(),
          properties: 0,
          role: undefined,
        });
        add({
          kind: AttrKind.Value,
          type: charUuid,
          value: Buffer.from(c.value ?? new Uint8Array(0)),
          properties: c.properties,
          role: c.role,
        });
        if (c.role === 'rx') {
          if (rx !== undefined) throw new TypeError('a GATT model has at most one rx characteristic');
          rx = valueHandle;
        }
        let cccd: number | undefined;
        if (c.properties & CharProp.Notify) {
          cccd = add({
            kind: AttrKind.Cccd,
            type: u16(AttrType.Cccd),
            value: u16(0),
            properties: 0,
            role: undefined,
          });
        }
        if (c.role === 'tx') {
          if (tx !== undefined) throw new TypeError('a GATT model has at most one tx characteristic');
          if (cccd === undefined) throw new TypeError('the tx characteristic must have the notify property');
          tx = valueHandle;
          txCccd = cccd;
        }
      }
      ranges.push({ start, end: attributes.length, uuid });
    }
    this.attributes = attributes;
    this.services = ranges;
    this.rxHandle = rx;
    this.txHandle = tx;
    this.txCccdHandle = txCccd;
  }

  get(handle: number): Attribute | undefined {
    return this.attributes[handle - 1];
  }

  get lastHandle(): number {
    return this.attributes.length;
  }
}

/**
 * The lock's GATT model (PROTOCOL.md §10): a GAP service (Device Name = the lock id, as
 * every real peripheral has one) and the lock service with RX (write without response,
 * also accepting write requests) and TX (notify).
 */
export function lockGattServices(deviceName: string): GattServiceSpec[] {
  return [
    {
      uuid: '1800',
      characteristics: [
        { uuid: '2a00', properties: CharProp.Read, value: Buffer.from(deviceName, 'utf8') },
        { uuid: '2a01', properties: CharProp.Read, value: u16(0) },
      ],
    },
    {
      uuid: BLE_SERVICE_UUID,
      characteristics: [
        { uuid: BLE_RX_UUID, properties: CharProp.WriteWithoutResponse | CharProp.Write, role: 'rx' },
        { uuid: BLE_TX_UUID, properties: CharProp.Notify, role: 'tx' },
      ],
    },
  ];
}
