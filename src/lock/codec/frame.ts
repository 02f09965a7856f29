import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter } from '../../bytes.js';
import { CtopError } from '../../errors.js';
import {
  CRC_SIZE,
  HEADER_SIZE,
  LINE_MARKER,
  MAX_BODY,
  MAX_FRAME,
  MESSAGE_NAMES,
  SUPPORTED_VERSIONS,
} from './constants.js';

/**
 * One frame of the lock protocol (PROTOCOL.md §3): a value object that knows its binary
 * layout and its line encoding, and nothing of what its body means.
 *
 *   ver u8 | type u8 | seq u16 | len u16 | body (len bytes, CBOR) | crc32 u32   (big-endian)
 */
export class Frame {
  constructor(
    readonly version: number,
    readonly type: number,
    readonly seq: number,
    readonly body: Uint8Array,
  ) {
    if (body.byteLength > MAX_BODY)
      throw new RangeError(`frame body of ${body.byteLength} bytes exceeds ${MAX_BODY}`);
  }

  get typeName(): string {
    return MESSAGE_NAMES[this.type] ?? `0x${this.type.toString(16)}`;
  }

  toBuffer(): Buffer {
    const head = new ByteWriter()
      .u8(this.version)
      .u8(this.type)
      .u16(this.seq)
      .u16(this.body.byteLength)
      .bytes(this.body)
      .toBuffer();
    return new ByteWriter().bytes(head).u32(crc32(head)).toBuffer();
  }

  /** The line as sent on the wire, LF included. */
  toLine(): Buffer {
    return Buffer.from(`${LINE_MARKER}${this.toBuffer().toString('base64')}\n`, 'latin1');
  }

  toString(): string {
    return `${this.typeName} v${this.version} seq=${this.seq} body=${this.body.byteLength}B`;
  }

  /**
   * Parses a binary frame. Checks, in order: size, CRC, version, length field; the
   * message type is left to the message layer so unknown types can be answered.
   */
  static fromBuffer(bytes: Uint8Array): Frame {
    if (bytes.byteLength < HEADER_SIZE + CRC_SIZE) {
      throw new CtopError(
        'E_FRAME_SHORT',
        `frame of ${bytes.byteLength} bytes is shorter than ${HEADER_SIZE + CRC_SIZE}`,
      );
    }
    if (bytes.byteLength > MAX_FRAME) {
      throw new CtopError('E_FRAME_LENGTH', `frame of ${bytes.byteLength} bytes exceeds ${MAX_FRAME}`);
    }
    const covered = bytes.subarray(0, bytes.byteLength - CRC_SIZE);
    const expected = new ByteReader(bytes.subarray(bytes.byteLength - CRC_SIZE), 'E_FRAME_SHORT').u32();
    const actual = crc32(covered);
    if (actual !== expected) {
      throw new CtopError('E_FRAME_CRC', `CRC-32 0x${actual.toString(16)} != 0x${expected.toString(16)}`, {
        details: { expected, actual },
      });
    }
    const r = new ByteReader(covered, 'E_FRAME_SHORT');
    const version = r.u8();
    const type = r.u8();
    const seq = r.u16();
    const len = r.u16();
    if (!SUPPORTED_VERSIONS.includes(version)) {
      throw new CtopError('E_FRAME_VERSION', `frame version ${version} is not supported`, {
        details: { version },
      });
    }
    if (len !== r.remaining) {
      throw new CtopError(
        'E_FRAME_LENGTH',
        `length field says ${len} body bytes, frame carries ${r.remaining}`,
        {
          details: { declared: len, actual: r.remaining },
        },
      );
    }
    return new Frame(version, type, seq, r.bytes(len));
  }

  /**
   * Parses one line (without its LF). Returns undefined for a noise line (no marker),
   * which receivers ignore: lock firmware may print boot banners on the same UART.
   */
  static fromLine(line: Uint8Array): Frame | undefined {
    let end = line.byteLength;
    if (end > 0 && line[end - 1] === 0x0d) end--; // tolerate CRLF
    if (end === 0 || line[0] !== LINE_MARKER.charCodeAt(0)) return undefined;
    const text = Buffer.from(line.buffer, line.byteOffset + 1, end - 1).toString('latin1');
    // Buffer.from(..., 'base64') silently skips invalid characters; a frame must not.
    if (!BASE64_LINE.test(text) || !padBitsZero(text)) {
      throw new CtopError('E_FRAME_ENCODING', `frame line of ${end} bytes is not canonical base64`);
    }
    return Frame.fromBuffer(Buffer.from(text, 'base64'));
  }
}

/** Standard alphabet, padded, whole quanta (RFC 4648 §4). */
const BASE64_LINE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * RFC 4648 §3.5: the bits of the last character that no byte uses are zero in a canonical
 * encoding (PROTOCOL.md §2, revision 1.1). Decoders that ignore them would accept several
 * lines for one frame.
 */
function padBitsZero(text: string): boolean {
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad === 0) return true;
  const last = BASE64_ALPHABET.indexOf(text[text.length - pad - 1]!);
  return (last & (pad === 2 ? 0x0f : 0x03)) === 0;
}
