import { isUtf8 } from 'node:buffer';
import { CtopError, type ErrorCode } from '../errors.js';

/**
 * Checks that bytes are one well-formed, deterministically encoded CBOR item (RFC 8949
 * §4.2.1) within limits, by walking the headers without decoding anything. It runs before
 * a decoder sees untrusted bytes, so a hostile length field ("array of 2^32 items") or a
 * deep nesting is refused before any allocation, and cbor-x's extension tags (shared
 * references, records, typed arrays) never reach it.
 *
 * Refused: indefinite lengths, non-shortest arguments, unsorted or duplicate map keys
 * (bytewise order of the encoded keys), floats, `undefined` and other simple values than
 * false/true/null, tags outside `allowedTags`, invalid UTF-8 in text strings, trailing
 * bytes.
 */
export interface CborLimits {
  /** Deepest nesting of arrays, maps and tags below the top item; default 16. */
  maxDepth?: number;
  /** Longest text string in UTF-8 bytes; default 4096. */
  maxTextBytes?: number;
  /** Longest byte string; default: bounded only by the input. */
  maxByteStringBytes?: number;
  /** Most elements in one array; default 10 000. */
  maxArrayLength?: number;
  /** Most key/value pairs in one map; default 256. */
  maxMapSize?: number;
  /** Tag numbers that may appear; default none. */
  allowedTags?: readonly number[];
}

/** The error code thrown for each kind of refusal; the defaults are the manifest's. */
export interface CborErrorCodes {
  malformed: ErrorCode;
  nonCanonical: ErrorCode;
  limit: ErrorCode;
}

export const MANIFEST_CBOR_ERRORS: CborErrorCodes = {
  malformed: 'E_MANIFEST_MALFORMED',
  nonCanonical: 'E_MANIFEST_NOT_CANONICAL',
  limit: 'E_MANIFEST_LIMIT',
};

const DEFAULTS = {
  maxDepth: 16,
  maxTextBytes: 4096,
  maxByteStringBytes: Number.POSITIVE_INFINITY,
  maxArrayLength: 10_000,
  maxMapSize: 256,
};

/** Smallest argument value allowed for additional information 24..27 (shortest form). */
const MIN_FOR_AI = [24, 0x100, 0x10000, 0x1_0000_0000] as const;

class Scanner {
  readonly #bytes: Uint8Array;
  readonly #limits: typeof DEFAULTS;
  readonly #tags: readonly number[];
  readonly #codes: CborErrorCodes;

  constructor(bytes: Uint8Array, limits: CborLimits, codes: CborErrorCodes) {
    this.#bytes = bytes;
    // Field by field: a Scanner is made for every decode, several per message on a drain.
    this.#limits = {
      maxDepth: limits.maxDepth ?? DEFAULTS.maxDepth,
      maxTextBytes: limits.maxTextBytes ?? DEFAULTS.maxTextBytes,
      maxByteStringBytes: limits.maxByteStringBytes ?? DEFAULTS.maxByteStringBytes,
      maxArrayLength: limits.maxArrayLength ?? DEFAULTS.maxArrayLength,
      maxMapSize: limits.maxMapSize ?? DEFAULTS.maxMapSize,
    };
    this.#tags = limits.allowedTags ?? [];
    this.#codes = codes;
  }

  fail(kind: keyof CborErrorCodes, offset: number, why: string): never {
    throw new CtopError(this.#codes[kind], `CBOR at byte ${offset}: ${why}`, { details: { offset } });
  }

  /** The length of the header `argument` read last (a field, not a tuple: no allocation per item). */
  #headerLength = 1;

  /** Reads the argument of the header at `pos`; its header's length is left in #headerLength. */
  argument(pos: number, ai: number): number {
    this.#headerLength = 1;
    if (ai < 24) return ai;
    if (ai > 27) {
      if (ai === 31) this.fail('nonCanonical', pos, 'indefinite length is not allowed');
      this.fail('malformed', pos, `reserved additional information ${ai}`);
    }
    const size = 1 << (ai - 24);
    if (pos + 1 + size > this.#bytes.byteLength) this.fail('malformed', pos, 'truncated header');
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.#bytes[pos + 1 + i]!;
    // Above 2^53 the number is imprecise but still far above any permitted length, and
    // still at or above the shortest-form minimum, so both checks below stay correct.
    if (value < MIN_FOR_AI[ai - 24]!)
      this.fail('nonCanonical', pos, 'integer or length not in its shortest form');
    this.#headerLength = 1 + size;
    return value;
  }

  /** Checks the item at `pos`; returns the offset just after it. */
  item(pos: number, depth: number): number {
    const bytes = this.#bytes;
    if (pos >= bytes.byteLength) this.fail('malformed', pos, 'unexpected end of input');
    const ib = bytes[pos]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (major === 7) return this.simple(pos, ai);
    if (ai === 31 && (major === 0 || major === 1 || major === 6)) {
      this.fail('malformed', pos, `additional information 31 is invalid for major type ${major}`);
    }
    const arg = this.argument(pos, ai);
    const start = pos + this.#headerLength;
    const remaining = bytes.byteLength - start;
    switch (major) {
      case 0:
      case 1:
        return start;
      case 2:
      case 3: {
        if (arg > remaining)
          this.fail('malformed', pos, `string of ${arg} bytes exceeds the ${remaining} left`);
        if (major === 2 && arg > this.#limits.maxByteStringBytes) {
          this.fail(
            'limit',
            pos,
            `byte string of ${arg} bytes exceeds the limit of ${this.#limits.maxByteStringBytes}`,
          );
        }
        if (major === 3) {
          if (arg > this.#limits.maxTextBytes) {
            this.fail('limit', pos, `text of ${arg} bytes exceeds the limit of ${this.#limits.maxTextBytes}`);
          }
          if (!isAscii(bytes, start, start + arg) && !isUtf8(bytes.subarray(start, start + arg)))
            this.fail('malformed', pos, 'text is not valid UTF-8');
        }
        return start + arg;
      }
      case 4: {
        if (arg > this.#limits.maxArrayLength) {
          this.fail(
            'limit',
            pos,
            `array of ${arg} items exceeds the limit of ${this.#limits.maxArrayLength}`,
          );
        }
        // Every item takes at least one byte: a count beyond the input is a lie.
        if (arg > remaining)
          this.fail('malformed', pos, `array of ${arg} items exceeds the ${remaining} bytes left`);
        this.enter(pos, depth);
        let p = start;
        for (let i = 0; i < arg; i++) p = this.item(p, depth + 1);
        return p;
      }
      case 5: {
        if (arg > this.#limits.maxMapSize) {
          this.fail('limit', pos, `map of ${arg} pairs exceeds the limit of ${this.#limits.maxMapSize}`);
        }
        if (arg * 2 > remaining)
          this.fail('malformed', pos, `map of ${arg} pairs exceeds the ${remaining} bytes left`);
        this.enter(pos, depth);
        let p = start;
        let previousStart = -1;
        let previousEnd = -1;
        for (let i = 0; i < arg; i++) {
          const keyStart = p;
          p = this.item(p, depth + 1);
          if (previousStart >= 0) {
            const order = compareRanges(bytes, previousStart, previousEnd, keyStart, p);
            if (order === 0) this.fail('malformed', keyStart, 'duplicate map key');
            if (order > 0)
              this.fail('nonCanonical', keyStart, 'map keys are not in bytewise lexicographic order');
          }
          previousStart = keyStart;
          previousEnd = p;
          p = this.item(p, depth + 1);
        }
        return p;
      }
      default: {
        // major 6: a tag and its content
        if (!this.#tags.includes(arg)) this.fail('malformed', pos, `tag ${arg} is not allowed here`);
        this.enter(pos, depth);
        return this.item(start, depth + 1);
      }
    }
  }

  enter(pos: number, depth: number): void {
    if (depth + 1 > this.#limits.maxDepth) {
      this.fail('limit', pos, `nesting deeper than the limit of ${this.#limits.maxDepth}`);
    }
  }

  simple(pos: number, ai: number): number {
    if (ai === 20 || ai === 21 || ai === 22) return pos + 1;
    if (ai === 23) this.fail('malformed', pos, 'undefined is not allowed');
    if (ai >= 25 && ai <= 27) this.fail('malformed', pos, 'floating-point numbers are not allowed');
    if (ai === 31) this.fail('malformed', pos, 'unexpected break');
    this.fail('malformed', pos, 'simple values other than false, true and null are not allowed');
  }
}

/** Whether bytes[start, end) are all ASCII (then valid UTF-8): most text is, and needs no view. */
function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** Bytewise lexicographic order of two ranges of `bytes` (as Buffer.compare, without two views per key). */
function compareRanges(
  bytes: Uint8Array,
  aStart: number,
  aEnd: number,
  bStart: number,
  bEnd: number,
): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = bytes[aStart + i]! - bytes[bStart + i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const d = aEnd - aStart - (bEnd - bStart);
  return d === 0 ? 0 : d < 0 ? -1 : 1;
}

/**
 * Throws a CtopError (codes from `codes`, default the manifest's) unless `bytes` is exactly
 * one deterministic CBOR item within `limits`.
 */
export function assertDeterministic(
  bytes: Uint8Array,
  limits: CborLimits = {},
  codes: CborErrorCodes = MANIFEST_CBOR_ERRORS,
): void {
  const scanner = new Scanner(bytes, limits, codes);
  if (bytes.byteLength === 0) scanner.fail('malformed', 0, 'empty input');
  const end = scanner.item(0, 0);
  if (end !== bytes.byteLength) scanner.fail('malformed', end, `${bytes.byteLength - end} trailing bytes`);
}
