import { Pb } from './hci-constants.js';

/** An L2CAP basic-mode PDU: length u16 LE, channel id u16 LE, payload (Vol 3 Part A §3.1). */
export function l2capPdu(cid: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + payload.byteLength);
  b.writeUInt16LE(payload.byteLength, 0);
  b.writeUInt16LE(cid, 2);
  b.set(payload, 4);
  return b;
}

/** Splits bytes into pieces of at most `size` (the last may be shorter). */
export function segment(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

export interface L2capFrame {
  cid: number;
  payload: Buffer;
}

/**
 * Rebuilds L2CAP PDUs from ACL fragments as a peripheral's host stack does: a fragment
 * flagged "first" starts a PDU whose length is in its basic header, "continuing" fragments
 * extend it. A first fragment while a PDU is incomplete abandons the old one (the spec's
 * rule), and fragments past the announced length are dropped.
 */
export class L2capReassembler {
  #parts: Buffer[] = [];
  #have = 0;
  #need = -1;
  /** Bytes thrown away (abandoned or orphan fragments, overlong PDUs). */
  discarded = 0;

  /** Feeds one ACL fragment; returns the PDU it completed, if any. */
  push(pb: number, data: Buffer): L2capFrame | undefined {
    if (pb === Pb.FirstFlushable || pb === Pb.FirstNonFlushable) {
      this.discarded += this.#have;
      this.#parts = [data];
      this.#have = data.length;
      this.#need = -1;
    } else if (pb === Pb.Continuing && this.#have > 0) {
      this.#parts.push(data);
      this.#have += data.length;
    } else {
      this.discarded += data.length;
      return undefined;
    }
    if (this.#need < 0) {
      if (this.#have < 4) return undefined;
      const head = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
      this.#need = 4 + head.readUInt16LE(0);
    }
    if (this.#have < this.#need) return undefined;
    const whole = Buffer.concat(this.#parts, this.#have);
    this.discarded += this.#have - this.#need;
    this.#parts = [];
    this.#have = 0;
    this.#need = -1;
    return { cid: whole.readUInt16LE(2), payload: whole.subarray(4, whole.readUInt16LE(0) + 4) };
  }
}
