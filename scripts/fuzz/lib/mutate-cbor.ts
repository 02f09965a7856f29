import fc from 'fast-check';
import { decodeToMaps, encodeCanonical, Tag } from '../../../src/cbor/index.js';

/**
 * Structure-aware mutations: a valid seed is decoded into its CBOR tree, one or more nodes
 * are replaced, deleted, grown or nudged, and the tree is encoded again as deterministic
 * CBOR. Byte mutations rarely get past a decoder's first check; these keep the input
 * well-formed so the schema, the field rules and whatever lies behind a signature (the
 * caller re-signs) are what gets exercised.
 */
export type CborTree = unknown;

export type TreeMutation =
  | { op: 'replace'; node: number; value: CborTree }
  | { op: 'delete'; node: number }
  | { op: 'insert'; node: number; key: CborTree; value: CborTree }
  | { op: 'tweak'; node: number; delta: number };

interface Slot {
  value: CborTree;
  set(v: CborTree): void;
  remove(): void;
}

/** Integers and lengths on the edges of every encoding size and of JavaScript's safe range. */
const EDGE_INTEGERS: (number | bigint)[] = [
  0,
  1,
  -1,
  23,
  24,
  -24,
  -25,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  -(2 ** 32),
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
  -(2n ** 64n) + 1n,
  1_767_225_600_000,
  4_102_444_800_000,
];

const TAGS = [0, 1, 2, 3, 18, 21, 24, 27, 28, 29, 32, 35, 64, 72, 105, 258, 259, 55799];

/** Any CBOR value deterministic encoding allows, with text drawn partly from the seeds' own keys and values. */
export function cborValue(words: readonly string[]): fc.Arbitrary<CborTree> {
  const text = fc.oneof(
    { weight: 3, arbitrary: words.length > 0 ? fc.constantFrom(...words) : fc.string() },
    { weight: 2, arbitrary: fc.string({ maxLength: 24 }) },
    {
      weight: 1,
      // Any code point, lone surrogates included (fc.string's 'binary' unit is slow to build).
      arbitrary: fc
        .array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 24 })
        .map((points) => String.fromCodePoint(...points)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'toString',
        'valueOf',
        '',
        '\u0000',
      ),
    },
    { weight: 1, arbitrary: fc.nat(3000).map((n) => 'A'.repeat(n)) },
  );
  const leaf = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }) },
    { weight: 2, arbitrary: fc.constantFrom(...EDGE_INTEGERS) },
    { weight: 4, arbitrary: text },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.nat(300).map((n) => Buffer.alloc(n, 0xab)) },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
  );
  const { value } = fc.letrec<{ value: CborTree }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 6, arbitrary: leaf },
      { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
      {
        weight: 1,
        arbitrary: fc
          .uniqueArray(fc.tuple(text, tie('value')), { maxLength: 5, selector: ([k]) => k })
          .map((entries) => new Map(entries)),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom(...TAGS), tie('value')).map(([tag, v]) => new Tag(v, tag)),
      },
    ),
  }));
  return value;
}

export const treeMutation = (words: readonly string[]): fc.Arbitrary<TreeMutation> => {
  const value = cborValue(words);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), node: fc.nat(), value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), node: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('insert' as const), node: fc.nat(), key: value, value }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('tweak' as const),
        node: fc.nat(),
        delta: fc.integer({ min: -3, max: 3 }),
      }),
    },
  );
};

function clone(value: CborTree): CborTree {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [clone(k), clone(v)]));
  if (Array.isArray(value)) return value.map(clone);
  if (value instanceof Tag) return new Tag(clone(value.value), value.tag);
  if (value instanceof Uint8Array) return Buffer.from(value);
  return value;
}

/** Every node of the tree in depth-first order, each with a way to replace or remove it. */
function slots(root: { value: CborTree }): Slot[] {
  const out: Slot[] = [];
  const visit = (value: CborTree, set: (v: CborTree) => void, remove: () => void) => {
    out.push({ value, set, remove });
    if (value instanceof Map) {
      for (const key of [...value.keys()]) {
        visit(
          value.get(key),
          (v) => value.set(key, v),
          () => value.delete(key),
        );
      }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        visit(
          value[i],
          (v) => {
            value[i] = v;
          },
          () => value.splice(i, 1),
        );
      }
    } else if (value instanceof Tag) {
      visit(
        value.value,
        (v) => {
          value.value = v;
        },
        () => {
          value.value = null;
        },
      );
    }
  };
  visit(
    root.value,
    (v) => {
      root.value = v;
    },
    () => {
      root.value = null;
    },
  );
  return out;
}

function tweak(value: CborTree, delta: number): CborTree {
  if (typeof value === 'number') return value + delta;
  if (typeof value === 'bigint') return value + BigInt(delta);
  if (typeof value === 'string') {
    if (delta > 0) return value + 'x'.repeat(delta);
    if (delta < 0) return value.slice(0, Math.max(0, value.length + delta));
    return value.length > 0 ? value.slice(1) + value[0] : ' ';
  }
  if (value instanceof Uint8Array) {
    if (delta > 0) return Buffer.concat([value, Buffer.alloc(delta)]);
    if (delta < 0) return Buffer.from(value.subarray(0, Math.max(0, value.byteLength + delta)));
    const out = Buffer.from(value);
    if (out.byteLength > 0) out[0]! ^= 0x01;
    return out;
  }
  if (typeof value === 'boolean') return !value;
  if (Array.isArray(value)) return delta < 0 ? value.slice(0, -1) : [...value, ...value.slice(0, delta)];
  return value;
}

export function applyTreeMutations(tree: CborTree, mutations: readonly TreeMutation[]): CborTree {
  const root = { value: clone(tree) };
  for (const m of mutations) {
    const all = slots(root);
    const slot = all[m.node % all.length]!;
    switch (m.op) {
      case 'replace':
        slot.set(clone(m.value));
        break;
      case 'delete':
        slot.remove();
        break;
      case 'insert':
        if (slot.value instanceof Map) slot.value.set(clone(m.key), clone(m.value));
        else if (Array.isArray(slot.value))
          slot.value.splice(m.node % (slot.value.length + 1), 0, clone(m.value));
        else slot.set(clone(m.value));
        break;
      case 'tweak':
        slot.set(tweak(slot.value, m.delta));
        break;
    }
  }
  return root.value;
}

/** Deterministic CBOR of a mutated tree; a tree the encoder refuses (duplicate keys) yields undefined. */
export function encodeTree(tree: CborTree): Buffer | undefined {
  try {
    return encodeCanonical(tree);
  } catch {
    return undefined;
  }
}

/** Decodes a seed into its tree (maps as Maps, tags as Tag objects). */
export function decodeTree(bytes: Uint8Array): CborTree {
  return decodeToMaps(bytes);
}

/** The text keys and short text values of the seeds: the vocabulary insertions draw from. */
export function wordsOf(trees: readonly CborTree[]): string[] {
  const words = new Set<string>();
  const visit = (v: CborTree) => {
    if (typeof v === 'string' && v.length <= 64) words.add(v);
    else if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k);
        visit(x);
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v instanceof Tag) visit(v.value);
  };
  trees.forEach(visit);
  return [...words].sort();
}

/** A seed's tree with 1 to `max` tree mutations, encoded again (the seed itself if the encoder refuses). */
export function mutatedCbor(
  seeds: readonly Uint8Array[],
  options: { max?: number; words?: readonly string[] } = {},
): fc.Arbitrary<Uint8Array> {
  const trees = seeds.map(decodeTree);
  const words = options.words ?? wordsOf(trees);
  return fc
    .tuple(
      fc.nat(seeds.length - 1),
      fc.array(treeMutation(words), { minLength: 1, maxLength: options.max ?? 3 }),
    )
    .map(([i, mutations]) => encodeTree(applyTreeMutations(trees[i], mutations)) ?? seeds[i]!);
}
