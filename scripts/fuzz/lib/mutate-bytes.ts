import fc from 'fast-check';

/**
 * Byte-level mutations of a valid seed, after the classic havoc stage of AFL: bit flips,
 * "interesting" integers written over a field, insertions, deletions, duplicated and
 * spliced ranges, truncation. Positions are naturals taken modulo the current length, so
 * fast-check shrinks a failing case towards fewer, earlier mutations.
 */
export type ByteMutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'interesting'; at: number; width: 1 | 2 | 4 | 8; value: bigint }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'duplicate'; at: number; count: number; to: number }
  | { op: 'truncate'; at: number };

/** Values that sit on the edges of length and integer fields. */
const INTERESTING = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x1_0000_0000n,
  0x1f_ffff_ffff_ffffn,
  0x20_0000_0000_0000n,
  0x7fff_ffff_ffff_ffffn,
  0xffff_ffff_ffff_ffffn,
];

/** CBOR headers worth dropping anywhere: huge lengths, indefinite lengths, tags, floats, break. */
const CBOR_HEADERS = [
  [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x5a, 0xff, 0xff, 0xff, 0xff],
  [0x7a, 0x7f, 0xff, 0xff, 0xff],
  [0x9a, 0xff, 0xff, 0xff, 0xff],
  [0xba, 0xff, 0xff, 0xff, 0xff],
  [0x9f],
  [0xbf],
  [0x5f],
  [0x7f],
  [0xff],
  [0xf7],
  [0xf9, 0x7e, 0x00],
  [0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
  [0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0],
  [0xd8, 0x1c],
  [0xd8, 0x1d, 0x00],
  [0xd8, 0x1b],
  [0xd9, 0xd9, 0xf7],
  [0xd8, 0x69],
  [0xd8, 0x40],
  [0xd9, 0x01, 0x02],
  [0x0a],
  [0x0d],
];

const insertion = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(...CBOR_HEADERS).map((b) => Uint8Array.from(b)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 9, maxLength: 300 }) },
);

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    op: fc.constant('interesting' as const),
    at: fc.nat(),
    width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
    value: fc.constantFrom(...INTERESTING),
  }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: insertion }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 256 }),
    to: fc.nat(),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

export function applyByteMutation(input: Uint8Array, m: ByteMutation): Uint8Array {
  const n = input.byteLength;
  const at = n === 0 ? 0 : m.at % n;
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = Uint8Array.from(input);
      out[at]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = Uint8Array.from(input);
      out[at] = m.value;
      return out;
    }
    case 'interesting': {
      if (n === 0) return input;
      const out = Uint8Array.from(input);
      for (let i = 0; i < m.width && at + i < n; i++) {
        out[at + i] = Number((m.value >> BigInt(8 * (m.width - 1 - i))) & 0xffn);
      }
      return out;
    }
    case 'insert':
      return concat(input.subarray(0, at), m.bytes, input.subarray(at));
    case 'delete':
      return concat(input.subarray(0, at), input.subarray(at + m.count));
    case 'duplicate': {
      const range = input.subarray(at, at + m.count);
      const to = n === 0 ? 0 : m.to % n;
      return concat(input.subarray(0, to), range, input.subarray(to));
    }
    case 'truncate':
      return input.subarray(0, at);
  }
}

export function applyByteMutations(input: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let out = input;
  for (const m of mutations) out = applyByteMutation(out, m);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A seed with 1 to `max` byte mutations applied. */
export function mutatedBytes(seeds: readonly Uint8Array[], max = 6): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(byteMutation, { minLength: 1, maxLength: max }))
    .map(([seed, mutations]) => applyByteMutations(seed, mutations));
}
