import { CtopError, type ErrorCode } from './errors.js';

/**
 * The one cursor codec for fixed binary layouts (frame headers, signed payloads,
 * advertising data), so offset arithmetic lives in one place. Big-endian unless the
 * method name says LE. Every read is bounds-checked and throws the caller's error code.
 */
export class ByteReader {
  #view: DataView;
  #bytes: Uint8Array;
  #pos = 0;
  readonly #errorCode: ErrorCode;

  constructor(bytes: Uint8Array, errorCode: ErrorCode) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#errorCode = errorCode;
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #need(n: number): void {
    if (n > this.remaining) {
      throw new CtopError(
        this.#errorCode,
        `need ${n} bytes at offset ${this.#pos}, only ${this.remaining} left`,
      );
    }
  }

  u8(): number {
    this.#need(1);
    return this.#view.getUint8(this.#pos++);
  }

  u16(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return v;
  }

  u16le(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const v = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }
}

export class ByteWriter {
  #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  #push(b: Uint8Array): this {
    this.#chunks.push(b);
    this.#length += b.byteLength;
    return this;
  }

  u8(v: number): this {
    return this.#push(Uint8Array.of(v & 0xff));
  }

  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v);
    return this.#push(b);
  }

  u16le(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.#push(b);
  }

  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    return this.#push(b);
  }

  bytes(b: Uint8Array): this {
    return this.#push(b);
  }

  ascii(s: string): this {
    return this.#push(Buffer.from(s, 'latin1'));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}
