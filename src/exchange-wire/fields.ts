import { CtopError } from '../errors.js';

/**
 * Typed reads from a decoded CBOR map that came off the network. Every wrong field ends in
 * one E_SYNC_MALFORMED naming the message and field; nothing else is ever thrown.
 * Unknown fields are ignored (EXCHANGE.md §3: a v1 receiver tolerates additions).
 */
export class FieldReader {
  readonly #map: Map<unknown, unknown>;
  readonly #what: string;

  constructor(value: unknown, what: string) {
    if (!(value instanceof Map)) malformed(what, 'must be a map');
    for (const key of value.keys()) {
      if (typeof key !== 'string') malformed(what, 'map keys must be text');
    }
    this.#map = value;
    this.#what = what;
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  fail(key: string, why: string): never {
    malformed(this.#what, `"${key}" ${why}`);
  }

  text(key: string, rule: { max?: number; pattern?: RegExp }): string {
    const v = this.#map.get(key);
    if (typeof v !== 'string') this.fail(key, v === undefined ? 'is missing' : 'must be text');
    if (v.length > (rule.max ?? 256)) this.fail(key, `is longer than ${rule.max ?? 256} characters`);
    if (rule.pattern && !rule.pattern.test(v)) this.fail(key, `does not match ${rule.pattern}`);
    return v;
  }

  optionalText(key: string, rule: { max?: number; pattern?: RegExp }): string | undefined {
    return this.#map.has(key) ? this.text(key, rule) : undefined;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.#map.get(key);
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(key, `must be one of ${values.join(', ')}`);
    }
    return v as T;
  }

  /** A non-negative integer that fits a JavaScript number exactly (times in ms, counters). */
  uint(key: string): number {
    const raw = this.#map.get(key);
    // Deterministic CBOR writes times in ms (above 2^32) as 64-bit integers, which decode as bigint.
    const v = typeof raw === 'bigint' && raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.fail(key, v === undefined ? 'is missing' : 'must be a non-negative integer below 2^53');
    }
    return v;
  }

  optionalUint(key: string): number | undefined {
    return this.#map.has(key) ? this.uint(key) : undefined;
  }

  bool(key: string): boolean {
    const v = this.#map.get(key);
    if (typeof v !== 'boolean') this.fail(key, v === undefined ? 'is missing' : 'must be true or false');
    return v;
  }

  bytes(key: string, size?: number): Uint8Array {
    const v = this.#map.get(key);
    if (!(v instanceof Uint8Array)) this.fail(key, v === undefined ? 'is missing' : 'must be a byte string');
    if (size !== undefined && v.byteLength !== size) this.fail(key, `must be ${size} bytes`);
    return v;
  }

  /** A flat map of text keys to text, integers, booleans or null (clear routing fields). */
  flatMap(key: string): Record<string, string | number | boolean | null> {
    const v = this.#map.get(key);
    if (!(v instanceof Map)) this.fail(key, v === undefined ? 'is missing' : 'must be a map');
    const out: Record<string, string | number | boolean | null> = {};
    for (const [k, raw] of v) {
      if (typeof k !== 'string') this.fail(key, 'must have text keys');
      const x =
        typeof raw === 'bigint' &&
        raw >= -BigInt(Number.MAX_SAFE_INTEGER) &&
        raw <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(raw)
          : raw;
      const ok =
        x === null ||
        typeof x === 'string' ||
        typeof x === 'boolean' ||
        (typeof x === 'number' && Number.isSafeInteger(x));
      if (!ok) this.fail(`${key}.${k}`, 'must be text, an integer, a boolean or null');
      out[k] = x as string | number | boolean | null;
    }
    return out;
  }

  array(key: string, max: number): unknown[] {
    const v = this.#map.get(key);
    if (!Array.isArray(v)) this.fail(key, v === undefined ? 'is missing' : 'must be an array');
    if (v.length > max) this.fail(key, `has more than ${max} items`);
    return v;
  }
}

export function malformed(what: string, why: string): never {
  throw new CtopError('E_SYNC_MALFORMED', `${what}: ${why}`);
}
