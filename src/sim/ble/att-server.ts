import { type Attribute, AttrKind, AttrType, CharProp, type GattDatabase } from './gatt-db.js';
import { ATT_DEFAULT_MTU } from './hci-constants.js';

/** ATT opcodes (Vol 3 Part F §3.4.8). */
export enum AttOp {
  ErrorRsp = 0x01,
  MtuReq = 0x02,
  MtuRsp = 0x03,
  FindInfoReq = 0x04,
  FindInfoRsp = 0x05,
  FindByTypeValueReq = 0x06,
  FindByTypeValueRsp = 0x07,
  ReadByTypeReq = 0x08,
  ReadByTypeRsp = 0x09,
  ReadReq = 0x0a,
  ReadRsp = 0x0b,
  ReadBlobReq = 0x0c,
  ReadBlobRsp = 0x0d,
  ReadByGroupTypeReq = 0x10,
  ReadByGroupTypeRsp = 0x11,
  WriteReq = 0x12,
  WriteRsp = 0x13,
  HandleValueNtf = 0x1b,
  HandleValueCfm = 0x1e,
  WriteCmd = 0x52,
}

/** ATT error codes (Vol 3 Part F §3.4.1.1). */
export enum AttErr {
  InvalidHandle = 0x01,
  ReadNotPermitted = 0x02,
  WriteNotPermitted = 0x03,
  InvalidPdu = 0x04,
  RequestNotSupported = 0x06,
  InvalidOffset = 0x07,
  AttributeNotFound = 0x0a,
  InvalidAttributeValueLength = 0x0d,
  UnsupportedGroupType = 0x10,
}

/** Bit 6 of an opcode marks a command: never answered, not even with an error. */
const COMMAND_FLAG = 0x40;

export interface AttServerHooks {
  /** An ATT PDU for the central. */
  send(pdu: Buffer): void;
  rxWrite(value: Buffer): void;
  subscribe(enabled: boolean): void;
  mtu(mtu: number): void;
  /** A PDU the server dropped, and why (for the log and stats). */
  dropped(reason: string, opcode: number): void;
}

export interface AttServerOptions {
  /** The server's receive MTU, answered to Exchange MTU. */
  maxMtu: number;
  /** Hostile: answer nothing at all (a device that advertises but never serves GATT). */
  silent?: boolean;
}

function errorRsp(reqOpcode: number, handle: number, code: AttErr): Buffer {
  const b = Buffer.alloc(5);
  b[0] = AttOp.ErrorRsp;
  b[1] = reqOpcode;
  b.writeUInt16LE(handle, 2);
  b[4] = code;
  return b;
}

function sameType(a: Buffer, type16: number): boolean {
  return a.length === 2 && a.readUInt16LE(0) === type16;
}

/**
 * The ATT server of one connection to a simulated peripheral: discovery, reads, writes and
 * CCCD state over a GattDatabase. Requests are answered at once (the link model supplies
 * the latency); anything not handled gets the ATT error the spec asks for.
 */
export class AttServer {
  readonly #db: GattDatabase;
  readonly #hooks: AttServerHooks;
  readonly #options: AttServerOptions;
  #mtu = ATT_DEFAULT_MTU;
  #cccd = new Map<number, number>();

  constructor(db: GattDatabase, options: AttServerOptions, hooks: AttServerHooks) {
    if (!(Number.isInteger(options.maxMtu) && options.maxMtu >= ATT_DEFAULT_MTU && options.maxMtu <= 517)) {
      throw new TypeError('maxMtu must be an integer in 23..517');
    }
    this.#db = db;
    this.#options = options;
    this.#hooks = hooks;
  }

  get mtu(): number {
    return this.#mtu;
  }

  get subscribed(): boolean {
    const h = this.#db.txCccdHandle;
    return h !== undefined && ((this.#cccd.get(h) ?? 0) & 0x0001) !== 0;
  }

  /** A Handle Value Notification of TX carrying `value`. */
  notification(value: Uint8Array): Buffer {
    const b = Buffer.alloc(3 + value.byteLength);
    b[0] = AttOp.HandleValueNtf;
    b.writeUInt16LE(this.#db.txHandle ?? 0, 1);
    b.set(value, 3);
    return b;
  }

  receive(pdu: Buffer): void {
    if (this.#options.silent || pdu.length === 0) return;
    const op = pdu[0]!;
    if (pdu.length > this.#mtu) {
      // The spec lets a server drop a PDU over its MTU; real stacks do. Surfacing it as an
      // error to the client would hide a client bug that real hardware punishes silently.
      this.#hooks.dropped(`PDU of ${pdu.length} bytes exceeds ATT MTU ${this.#mtu}`, op);
      return;
    }
    let response: Buffer | undefined;
    try {
      response = this.#dispatch(op, pdu);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      // A truncated request: a Buffer read ran past its end.
      if (!(op & COMMAND_FLAG)) response = errorRsp(op, 0, AttErr.InvalidPdu);
    }
    if (response) this.#hooks.send(response);
    this.#afterResponse?.();
    this.#afterResponse = undefined;
  }

  /** Work that must follow the response on air (app callbacks that may notify). */
  #afterResponse: (() => void) | undefined;

  /** Returns the response PDU, if the request has one. */
  #dispatch(op: number, pdu: Buffer): Buffer | undefined {
    switch (op) {
      case AttOp.MtuReq:
        return this.#exchangeMtu(pdu);
      case AttOp.FindInfoReq:
        return this.#findInformation(pdu);
      case AttOp.FindByTypeValueReq:
        return this.#findByTypeValue(pdu);
      case AttOp.ReadByTypeReq:
        return this.#readByType(pdu);
      case AttOp.ReadReq:
        return this.#read(op, pdu.readUInt16LE(1), 0);
      case AttOp.ReadBlobReq:
        return this.#read(op, pdu.readUInt16LE(1), pdu.readUInt16LE(3));
      case AttOp.ReadByGroupTypeReq:
        return this.#readByGroupType(pdu);
      case AttOp.WriteReq:
        return this.#write(pdu, true);
      case AttOp.WriteCmd:
        return this.#write(pdu, false);
      case AttOp.HandleValueCfm:
        return undefined;
      default:
        if (op & COMMAND_FLAG) {
          this.#hooks.dropped('unsupported ATT command', op);
          return undefined;
        }
        // Requests get "not supported"; responses without a request are ignored.
        return op % 2 === 0 ? errorRsp(op, 0, AttErr.RequestNotSupported) : undefined;
    }
  }

  #exchangeMtu(pdu: Buffer): Buffer {
    const client = pdu.readUInt16LE(1);
    const rsp = Buffer.alloc(3);
    rsp[0] = AttOp.MtuRsp;
    rsp.writeUInt16LE(this.#options.maxMtu, 1);
    const mtu = Math.max(ATT_DEFAULT_MTU, Math.min(client, this.#options.maxMtu));
    if (mtu !== this.#mtu) {
      this.#mtu = mtu;
      this.#afterResponse = () => this.#hooks.mtu(mtu);
    }
    return rsp;
  }

  /** The error for an invalid handle range, or undefined when it is valid. */
  #badRange(op: number, start: number, end: number): Buffer | undefined {
    return start === 0 || start > end ? errorRsp(op, start, AttErr.InvalidHandle) : undefined;
  }

  #inRange(start: number, end: number): Attribute[] {
    return this.#db.attributes.slice(start - 1, Math.min(end, this.#db.lastHandle));
  }

  #findInformation(pdu: Buffer): Buffer {
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    const bad = this.#badRange(AttOp.FindInfoReq, start, end);
    if (bad) return bad;
    const found = this.#inRange(start, end);
    if (found.length === 0) return errorRsp(AttOp.FindInfoReq, start, AttErr.AttributeNotFound);
    const typeLength = found[0]!.type.length;
    const entries: Buffer[] = [];
    let size = 2;
    for (const a of found) {
      if (a.type.length !== typeLength || size + 2 + typeLength > this.#mtu) break;
      const e = Buffer.alloc(2);
      e.writeUInt16LE(a.handle);
      entries.push(e, a.type);
      size += 2 + typeLength;
    }
    return Buffer.concat([Buffer.of(AttOp.FindInfoRsp, typeLength === 2 ? 1 : 2), ...entries]);
  }

  #findByTypeValue(pdu: Buffer): Buffer {
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    const type = pdu.readUInt16LE(5);
    const value = pdu.subarray(7);
    const bad = this.#badRange(AttOp.FindByTypeValueReq, start, end);
    if (bad) return bad;
    const entries: Buffer[] = [];
    if (type === AttrType.PrimaryService) {
      for (const s of this.#db.services) {
        if (s.start < start || s.start > end || !s.uuid.equals(value)) continue;
        if (1 + (entries.length + 1) * 4 > this.#mtu) break;
        const e = Buffer.alloc(4);
        e.writeUInt16LE(s.start, 0);
        e.writeUInt16LE(s.end, 2);
        entries.push(e);
      }
    }
    if (entries.length === 0) return errorRsp(AttOp.FindByTypeValueReq, start, AttErr.AttributeNotFound);
    return Buffer.concat([Buffer.of(AttOp.FindByTypeValueRsp), ...entries]);
  }

  #valueOf(a: Attribute): Buffer {
    if (a.kind === AttrKind.Cccd) {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(this.#cccd.get(a.handle) ?? 0);
      return b;
    }
    return a.value;
  }

  #readable(a: Attribute): boolean {
    return a.kind !== AttrKind.Value || (a.properties & CharProp.Read) !== 0;
  }

  #readByType(pdu: Buffer): Buffer {
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    const type = pdu.subarray(5);
    if (type.length !== 2 && type.length !== 16) throw new RangeError('bad type length');
    const bad = this.#badRange(AttOp.ReadByTypeReq, start, end);
    if (bad) return bad;
    const matching = this.#inRange(start, end).filter((a) => a.type.equals(type));
    const first = matching[0];
    if (!first) return errorRsp(AttOp.ReadByTypeReq, start, AttErr.AttributeNotFound);
    if (!this.#readable(first)) return errorRsp(AttOp.ReadByTypeReq, first.handle, AttErr.ReadNotPermitted);
    const maxValue = Math.min(this.#mtu - 4, 253);
    const entryLength = 2 + this.#valueOf(first).subarray(0, maxValue).length;
    const entries: Buffer[] = [];
    let size = 2;
    for (const a of matching) {
      if (!this.#readable(a)) break;
      const value = this.#valueOf(a).subarray(0, maxValue);
      if (2 + value.length !== entryLength || size + entryLength > this.#mtu) break;
      const h = Buffer.alloc(2);
      h.writeUInt16LE(a.handle);
      entries.push(h, value);
      size += entryLength;
    }
    return Buffer.concat([Buffer.of(AttOp.ReadByTypeRsp, entryLength), ...entries]);
  }

  #read(op: number, handle: number, offset: number): Buffer {
    const a = this.#db.get(handle);
    if (!a) return errorRsp(op, handle, AttErr.InvalidHandle);
    if (!this.#readable(a)) return errorRsp(op, handle, AttErr.ReadNotPermitted);
    const value = this.#valueOf(a);
    if (offset > value.length) return errorRsp(op, handle, AttErr.InvalidOffset);
    const rspOp = op === AttOp.ReadReq ? AttOp.ReadRsp : AttOp.ReadBlobRsp;
    return Buffer.concat([Buffer.of(rspOp), value.subarray(offset, offset + this.#mtu - 1)]);
  }

  #readByGroupType(pdu: Buffer): Buffer {
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    const type = pdu.subarray(5);
    if (type.length !== 2 && type.length !== 16) throw new RangeError('bad type length');
    const bad = this.#badRange(AttOp.ReadByGroupTypeReq, start, end);
    if (bad) return bad;
    if (!sameType(type, AttrType.PrimaryService)) {
      return errorRsp(AttOp.ReadByGroupTypeReq, start, AttErr.UnsupportedGroupType);
    }
    const services = this.#db.services.filter((s) => s.start >= start && s.start <= end);
    const first = services[0];
    if (!first) return errorRsp(AttOp.ReadByGroupTypeReq, start, AttErr.AttributeNotFound);
    const entryLength = 4 + first.uuid.length;
    const entries: Buffer[] = [];
    let size = 2;
    for (const s of services) {
      if (4 + s.uuid.length !== entryLength || size + entryLength > this.#mtu) break;
      const e = Buffer.alloc(4);
      e.writeUInt16LE(s.start, 0);
      e.writeUInt16LE(s.end, 2);
      entries.push(e, s.uuid);
      size += entryLength;
    }
    return Buffer.concat([Buffer.of(AttOp.ReadByGroupTypeRsp, entryLength), ...entries]);
  }

  /** Write Request (answered) or Write Command (never answered, refusals only logged). */
  #write(pdu: Buffer, withResponse: boolean): Buffer | undefined {
    const handle = pdu.readUInt16LE(1);
    const value = pdu.subarray(3);
    const op = withResponse ? AttOp.WriteReq : AttOp.WriteCmd;
    const fail = (code: AttErr): Buffer | undefined => {
      if (withResponse) return errorRsp(op, handle, code);
      this.#hooks.dropped(`write command refused (ATT error 0x${code.toString(16)})`, op);
      return undefined;
    };
    const a = this.#db.get(handle);
    if (!a) return fail(AttErr.InvalidHandle);
    if (a.kind === AttrKind.Cccd) {
      if (value.length !== 2) return fail(AttErr.InvalidAttributeValueLength);
      const before = this.subscribed;
      this.#cccd.set(handle, value.readUInt16LE(0));
      const after = this.subscribed;
      if (handle === this.#db.txCccdHandle && before !== after)
        this.#afterResponse = () => this.#hooks.subscribe(after);
      return withResponse ? Buffer.of(AttOp.WriteRsp) : undefined;
    }
    const allowed = withResponse ? CharProp.Write : CharProp.WriteWithoutResponse;
    if (a.kind !== AttrKind.Value || !(a.properties & allowed)) return fail(AttErr.WriteNotPermitted);
    // Only RX reaches the app; other writable values would be accepted and forgotten.
    if (a.role === 'rx') {
      const copy = Buffer.from(value);
      this.#afterResponse = () => this.#hooks.rxWrite(copy);
    }
    return withResponse ? Buffer.of(AttOp.WriteRsp) : undefined;
  }
}
