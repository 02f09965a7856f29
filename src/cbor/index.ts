import { Decoder, Encoder, Tag } from 'cbor-x';
import { assertDeterministic, type CborErrorCodes, type CborLimits } from './deterministic.js';

export { Tag } from 'cbor-x';
export {
  assertDeterministic,
  type CborErrorCodes,
  type CborLimits,
  MANIFEST_CBOR_ERRORS,
} from './deterministic.js';
export { decodeWellFormed, type WellFormedLimits } from './well-formed.js';

/**
 * Deterministic CBOR (RFC 8949 §4.2.1) on top of cbor-x: map keys sorted by their
 * encoded bytes, integers in their shortest form, definite lengths only. cbor-x alone
 * keeps insertion order and writes integers above 2^32 as float64, so values are
 * normalised first. Floats are not used by any of our formats and are refused.
 */
const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
});

const objectDecoder = new Decoder({ useRecords: false, mapsAsObjects: true });
const mapDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | { [key: string]: CborValue }
  | { readonly tag: number; readonly value: CborValue };

function normaliseInteger(n: number | bigint): number | bigint {
  if (typeof n === 'bigint') {
    // cbor-x writes -2^64 as a tag-3 bignum instead of 0x3b ff…ff, and anything beyond 64
    // bits as a bignum: neither is the deterministic integer encoding, so both are refused.
    if (n <= -(2n ** 64n) || n >= 2n ** 64n) {
      throw new TypeError(`deterministic CBOR: integer ${n} is outside the 64-bit range`);
    }
    return n >= -(2n ** 32n) && n < 2n ** 32n ? Number(n) : n;
  }
  if (!Number.isInteger(n)) throw new TypeError(`deterministic CBOR: non-integer number ${n} is not allowed`);
  if (!Number.isSafeInteger(n)) throw new TypeError(`deterministic CBOR: integer ${n} is not a safe integer`);
  return n >= -(2 ** 32) && n < 2 ** 32 ? n : BigInt(n);
}

/**
 * Encoded text keys, remembered: the formats' maps use a few dozen names, and encoding each
 * key of every map again was most of the cost of encoding an envelope's routing fields.
 * Bounded, since keys can come from outside (a decoded map re-encoded).
 */
const TEXT_KEYS = new Map<string, Buffer>();
const TEXT_KEYS_MAX = 512;

function encodedKey(key: unknown): Buffer {
  if (typeof key !== 'string') return encoder.encode(key) as Buffer;
  let bytes = TEXT_KEYS.get(key);
  if (bytes === undefined) {
    // A copy: cbor-x returns a view of its 8 KiB working buffer, which the cache would pin.
    bytes = Buffer.from(encoder.encode(key) as Buffer);
    if (TEXT_KEYS.size >= TEXT_KEYS_MAX) TEXT_KEYS.clear();
    TEXT_KEYS.set(key, bytes);
  }
  return bytes;
}

function normalise(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') return normaliseInteger(value);
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean')
    return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Tag) return new Tag(normalise(value.value), value.tag);
  if (Array.isArray(value)) return value.map(normalise);
  const entries: [unknown, unknown][] =
    value instanceof Map
      ? [...value.entries()]
      : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const keyed = entries.map(([k, v]) => {
    const key = normalise(k);
    return { key, sortKey: encodedKey(key), value: normalise(v) };
  });
  keyed.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (let i = 1; i < keyed.length; i++) {
    if (Buffer.compare(keyed[i - 1]!.sortKey, keyed[i]!.sortKey) === 0) {
      throw new TypeError('deterministic CBOR: duplicate map key');
    }
  }
  return new Map(keyed.map((e) => [e.key, e.value]));
}

/** Encodes a value as deterministic CBOR. Plain objects and Maps become CBOR maps. */
export function encodeCanonical(value: unknown): Buffer {
  return encoder.encode(normalise(value)) as Buffer;
}

/** Decodes CBOR with text-keyed maps as plain objects (integer keys become strings). */
export function decodeToObjects(bytes: Uint8Array): unknown {
  return objectDecoder.decode(bytes);
}

/** Decodes CBOR with every map as a Map (for integer-keyed structures such as COSE headers). */
export function decodeToMaps(bytes: Uint8Array): unknown {
  return mapDecoder.decode(bytes);
}

/**
 * Decodes untrusted bytes that must be deterministic CBOR: checked first by
 * `assertDeterministic` (no allocation before the limits hold), then decoded with every
 * map as a Map. Tags come back as cbor-x `Tag` objects.
 */
export function decodeDeterministic(
  bytes: Uint8Array,
  limits: CborLimits = {},
  codes?: CborErrorCodes,
): unknown {
  assertDeterministic(bytes, limits, codes);
  return mapDecoder.decode(bytes);
}
