import { isUtf8 } from 'node:buffer';
import { CtopError, type ErrorCode } from '../errors.js';

/**
 * Decodes one well-formed CBOR item within structural limits, checking each header before
 * anything is allocated for it, so hostile input costs bounded memory and depth. Unlike
 * `decodeDeterministic` it accepts every legal encoding —
 * integers and lengths in a longer form than needed, map keys in any order, indefinite
 * lengths — because the lock protocol's receivers must (PROTOCOL.md §4). It refuses:
 * nesting beyond `maxDepth`, more than `maxItems` elements in an array or pairs in a map,
 * a map key that is not a text string, the same key twice in one map (compared by value,
 * whatever its encoding), tags, floats, `undefined` and simple values other than
 * false/true/null, invalid UTF-8, a stray break, truncation and trailing bytes. Maps become
 * plain objects, byte strings Buffers, integers numbers (bigint beyond 2^53). cbor-x is not
 * used here: it does not read chunked strings.
 */
export interface WellFormedLimits {
  /** Deepest nesting of arrays and maps; the top item counts as level 1. */
  maxDepth: number;
  /** Most elements in one array, or key/value pairs in one map. */
  maxItems: number;
}

const BREAK = 0xff;

class Decoder {
  readonly #bytes: Uint8Array;
  readonly #limits: WellFormedLimits;
  readonly #code: ErrorCode;

  constructor(bytes: Uint8Array, limits: WellFormedLimits, code: ErrorCode) {
    this.#bytes = bytes;
    this.#limits = limits;
    this.#code = code;
  }

  fail(offset: number, why: string): never {
    throw new CtopError(this.#code, `CBOR at byte ${offset}: ${why}`, { details: { offset } });
  }

  /** The argument of the header at `pos` (any length form); [value, header length]. */
  argument(pos: number, ai: number): [number, number] {
    if (ai < 24) return [ai, 1];
    if (ai > 27) this.fail(pos, `reserved additional information ${ai}`);
    const size = 1 << (ai - 24);
    if (pos + 1 + size > this.#bytes.byteLength) this.fail(pos, 'truncated header');
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.#bytes[pos + 1 + i]!;
    return [value, 1 + size];
  }

  /** Decodes the item at `pos` at nesting `depth` (0 outside any container): [value, offset after it]. */
  item(pos: number, depth: number): [unknown, number] {
    const bytes = this.#bytes;
    if (pos >= bytes.byteLength) this.fail(pos, 'unexpected end of input');
    const ib = bytes[pos]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0:
      case 1: {
        if (ai === 31) this.fail(pos, 'indefinite length is invalid for an integer');
        const [n, header] = this.argument(pos, ai);
        const value = Number.isSafeInteger(n) ? n : this.bigArgument(pos, ai);
        return [major === 0 ? value : typeof value === 'bigint' ? -1n - value : -1 - value, pos + header];
      }
      case 2:
      case 3: {
        const [end, value] = this.string(pos, major, ai);
        return [value, end];
      }
      case 4:
      case 5:
        return this.container(pos, major, ai, depth + 1);
      case 6:
        this.fail(pos, 'tags are not allowed');
        break;
      default:
        if (ai === 20 || ai === 21) return [ai === 21, pos + 1];
        if (ai === 22) return [null, pos + 1];
        if (ai >= 25 && ai <= 27) this.fail(pos, 'floating-point numbers are not allowed');
        if (ai === 31) this.fail(pos, 'unexpected break');
        this.fail(pos, 'simple values other than false, true and null are not allowed');
    }
  }

  /** An 8-byte argument beyond 2^53, exactly. */
  bigArgument(pos: number, ai: number): bigint {
    let value = 0n;
    for (let i = 0; i < 1 << (ai - 24); i++) value = value * 256n + BigInt(this.#bytes[pos + 1 + i]!);
    return value;
  }

  /** A byte or text string, definite or chunked: [offset after it, its value]. */
  string(pos: number, major: number, ai: number): [number, Buffer | string] {
    const bytes = this.#bytes;
    if (ai === 31) {
      // Indefinite: definite chunks of the same major type up to a break.
      let p = pos + 1;
      const parts: Buffer[] = [];
      for (;;) {
        if (p >= bytes.byteLength) this.fail(pos, 'indefinite string without a break');
        if (bytes[p] === BREAK) {
          const joined = Buffer.concat(parts);
          return [p + 1, major === 3 ? joined.toString('utf8') : joined];
        }
        if (bytes[p]! >> 5 !== major || (bytes[p]! & 0x1f) === 31) {
          this.fail(p, 'a chunk of an indefinite string must be a definite string of the same type');
        }
        const [end, chunk] = this.string(p, major, bytes[p]! & 0x1f);
        parts.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
        p = end;
      }
    }
    const [length, header] = this.argument(pos, ai);
    const start = pos + header;
    if (length > bytes.byteLength - start)
      this.fail(pos, `string of ${length} bytes exceeds the ${bytes.byteLength - start} left`);
    const content = Buffer.from(bytes.subarray(start, start + length));
    if (major === 3) {
      // Each chunk is valid UTF-8 on its own (RFC 8949 §3.2.3).
      if (!isUtf8(content)) this.fail(pos, 'text is not valid UTF-8');
      return [start + length, content.toString('utf8')];
    }
    return [start + length, content];
  }

  container(pos: number, major: number, ai: number, depth: number): [unknown, number] {
    if (depth > this.#limits.maxDepth) this.fail(pos, `nesting deeper than ${this.#limits.maxDepth} levels`);
    const bytes = this.#bytes;
    const indefinite = ai === 31;
    const what = major === 4 ? 'array' : 'map';
    let count = Number.POSITIVE_INFINITY;
    let p = pos + 1;
    if (!indefinite) {
      const [n, header] = this.argument(pos, ai);
      count = n;
      p = pos + header;
      if (count > this.#limits.maxItems)
        this.fail(pos, `${what} of ${count} items exceeds ${this.#limits.maxItems}`);
    }
    const items: unknown[] = [];
    const entries = new Map<string, unknown>();
    for (let i = 0; i < count; i++) {
      if (indefinite) {
        if (p >= bytes.byteLength) this.fail(pos, `indefinite ${what} without a break`);
        if (bytes[p] === BREAK) {
          p++;
          break;
        }
        if (i >= this.#limits.maxItems) this.fail(pos, `${what} of more than ${this.#limits.maxItems} items`);
      }
      if (major === 4) {
        const [value, end] = this.item(p, depth);
        items.push(value);
        p = end;
        continue;
      }
      if (p >= bytes.byteLength) this.fail(p, 'unexpected end of input');
      if (bytes[p]! >> 5 !== 3) this.fail(p, 'a map key must be a text string');
      const [keyEnd, key] = this.string(p, 3, bytes[p]! & 0x1f) as [number, string];
      if (entries.has(key)) this.fail(p, `duplicate map key "${key}"`);
      const [value, end] = this.item(keyEnd, depth);
      entries.set(key, value);
      p = end;
    }
    // fromEntries defines own properties, so a key "__proto__" is data, not a prototype.
    return [major === 4 ? items : Object.fromEntries(entries), p];
  }
}

/** The value of `bytes`, exactly one well-formed CBOR item within `limits`; else CtopError(`code`). */
export function decodeWellFormed(bytes: Uint8Array, limits: WellFormedLimits, code: ErrorCode): unknown {
  const walker = new Decoder(bytes, limits, code);
  if (bytes.byteLength === 0) walker.fail(0, 'empty input');
  const [value, end] = walker.item(0, 0);
  if (end !== bytes.byteLength) walker.fail(end, `${bytes.byteLength - end} trailing bytes`);
  return value;
}
