import assert from 'node:assert';
import { type CtopError, isCtopError } from '../../../src/errors.js';

/** An assertion of a campaign that failed: the bug report, with what was thrown if anything. */
export class FuzzFinding extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'FuzzFinding';
  }
}

/** What `expectTyped` returns: the result, or the code of the allowed error. */
export type Typed<R> = { ok: true; value: R } | { ok: false; code: string };

/**
 * Runs `fn` and returns its result, or the code of the CtopError it threw when `allowed`
 * accepts that code. Anything else thrown — a TypeError, a RangeError, a stack overflow, a
 * CtopError of a code the module does not document for this input — is a finding.
 */
export function expectTyped<R>(what: string, allowed: RegExp, fn: () => R): Typed<R> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof FuzzFinding) throw err;
    if (!isCtopError(err)) {
      throw new FuzzFinding(`${what} threw an untyped ${describe(err)}`, { cause: err });
    }
    if (!allowed.test(err.code)) {
      throw new FuzzFinding(`${what} threw ${err.code}, not one of ${allowed}: ${err.message}`, {
        cause: err,
      });
    }
    return { ok: false, code: err.code };
  }
}

/** The async form of `expectTyped`. */
export async function expectTypedAsync<R>(
  what: string,
  allowed: RegExp,
  fn: () => Promise<R>,
): Promise<Typed<R>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof FuzzFinding) throw err;
    if (!isCtopError(err)) throw new FuzzFinding(`${what} threw an untyped ${describe(err)}`, { cause: err });
    if (!allowed.test(err.code)) {
      throw new FuzzFinding(`${what} threw ${err.code}, not one of ${allowed}: ${err.message}`, {
        cause: err,
      });
    }
    return { ok: false, code: err.code };
  }
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FuzzFinding(message);
}

/**
 * Deep equality with byte strings compared by content: cbor-x hands back Buffers for a
 * Buffer input and plain Uint8Arrays for a Uint8Array one, which is not a difference.
 */
export function checkEqual(actual: unknown, expected: unknown, message: string): void {
  try {
    assert.deepStrictEqual(asBuffers(actual), asBuffers(expected));
  } catch (err) {
    const diff = (err as Error).message.split('\n').slice(1, 40).join('\n');
    throw new FuzzFinding(`${message}\n${diff}`);
  }
}

function asBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(asBuffers);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [asBuffers(k), asBuffers(v)]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(value));
    for (const [k, v] of Object.entries(value)) out[k] = asBuffers(v);
    return out;
  }
  return value;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message.split('\n')[0]}`;
  return `${typeof err}: ${String(err)}`;
}

export type { CtopError };

/** Own properties of Object.prototype at start: a decoder that adds one has polluted every object. */
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).length;
const arrayPrototypeKeys = Object.getOwnPropertyNames(Array.prototype).length;

export function checkNoPrototypePollution(): void {
  if (
    Object.getOwnPropertyNames(Object.prototype).length !== prototypeKeys ||
    Object.getOwnPropertyNames(Array.prototype).length !== arrayPrototypeKeys
  ) {
    throw new FuzzFinding('Object.prototype or Array.prototype gained a property: prototype pollution');
  }
}
