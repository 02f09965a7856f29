import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { H4 } from './hci-constants.js';

export interface H4ParserOptions extends TransformOptions {
  /**
   * Called with the number of bytes skipped because they did not start a command or ACL
   * packet (a host that lost sync, or line noise). Default: nothing.
   */
  onDiscard?: (bytes: number) => void;
  /** Largest ACL data length accepted; longer packets are discarded whole. Default 65535. */
  maxAclLength?: number;
}

/**
 * Splits the host-to-controller byte stream of an H4 UART (Vol 4 Part A) into packets:
 * pushes one Buffer per HCI command or ACL data packet, indicator byte included. Anything
 * else the host should never send (events, SCO, ISO, noise) is skipped byte by byte until a
 * packet indicator lines up again.
 */
export class H4Parser extends Transform {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #onDiscard: ((bytes: number) => void) | undefined;
  readonly #maxAclLength: number;

  constructor(options: H4ParserOptions = {}) {
    const { onDiscard, maxAclLength = 65535, ...rest } = options;
    super({ ...rest, readableObjectMode: true });
    if (!Number.isInteger(maxAclLength) || maxAclLength < 0 || maxAclLength > 65535) {
      throw new TypeError('maxAclLength must be an integer in 0..65535');
    }
    this.#onDiscard = onDiscard;
    this.#maxAclLength = maxAclLength;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let pos = 0;
    let skipped = 0;
    const buf = this.#buffer;
    while (pos < buf.length) {
      const indicator = buf[pos]!;
      let total: number;
      if (indicator === H4.Command) {
        if (buf.length - pos < 4) break;
        total = 4 + buf[pos + 3]!;
      } else if (indicator === H4.Acl) {
        if (buf.length - pos < 5) break;
        const length = buf.readUInt16LE(pos + 3);
        if (length > this.#maxAclLength) {
          pos++;
          skipped++;
          continue;
        }
        total = 5 + length;
      } else {
        pos++;
        skipped++;
        continue;
      }
      if (buf.length - pos < total) break;
      this.push(buf.subarray(pos, pos + total));
      pos += total;
    }
    this.#buffer = pos === 0 ? buf : Buffer.from(buf.subarray(pos));
    if (skipped > 0) this.#onDiscard?.(skipped);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // A partial packet at end of stream can never complete; it is noise, not a packet.
    if (this.#buffer.length > 0) this.#onDiscard?.(this.#buffer.length);
    this.#buffer = Buffer.alloc(0);
    callback();
  }
}
