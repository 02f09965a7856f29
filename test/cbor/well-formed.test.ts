import fc from 'fast-check';
import t from 'tap';
import { decodeToObjects, decodeWellFormed, encodeCanonical } from '../../src/cbor/index.js';
import { isCtopError } from '../../src/errors.js';

const limits = { maxDepth: 8, maxItems: 64 };
const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const decode = (bytes: Uint8Array) => decodeWellFormed(bytes, limits, 'E_FRAME_BODY');

/** Values of the lock protocol's CBOR profile: text-keyed maps, arrays, ints, strings, bytes. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.constantFrom(true, false, null),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 5 }),
  ),
}));

t.test('decodes what the deterministic encoder writes exactly as cbor-x does', async (t) => {
  fc.assert(
    fc.property(value.node, (v) => {
      const bytes = encodeCanonical(v);
      let expected: unknown;
      try {
        expected = decodeToObjects(bytes);
      } catch {
        return true;
      }
      try {
        t.same(decode(bytes), expected);
      } catch (err) {
        // Only the limits may refuse what cbor-x reads.
        if (!isCtopError(err, 'E_FRAME_BODY') || !/nesting|items/.test((err as Error).message)) throw err;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

t.test('accepts every legal encoding: long arguments, any key order, indefinite lengths', async (t) => {
  t.same(decode(hex('a2 636f6666 1a00000000 636c656e 190010')), { off: 0, len: 16 });
  t.same(decode(hex('bf 636f6666 00 7f 626461 627461 ff 5f 43010203 420405 ff ff')), {
    off: 0,
    data: hex('0102030405'),
  });
  t.same(decode(hex('9f 01 9f ff ff')), [1, []]);
  t.same(decode(hex('3a ffffffff')), -(2 ** 32));
  t.equal(decode(hex('1b ffffffffffffffff')), 2n ** 64n - 1n, 'beyond 2^53: exact, as a bigint');
  t.same(decode(hex('a1 69 5f5f70726f746f5f5f 01')), JSON.parse('{"__proto__": 1}'), '__proto__ is data');
  t.equal(Object.getPrototypeOf(decode(hex('a1 69 5f5f70726f746f5f5f a0'))), Object.prototype);
});

t.test('refuses what PROTOCOL.md §4 refuses, with the given code', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['too deep', `${'81'.repeat(9)} 00`, /nesting/],
    ['too deep, indefinite', `${'9f'.repeat(9)}`, /nesting/],
    ['65 items', `9841 ${'00'.repeat(65)}`, /65 items/],
    ['65 items, indefinite', `9f ${'00'.repeat(65)} ff`, /more than 64/],
    ['duplicate key', 'a2 616101 7801 61 02', /duplicate/],
    ['integer key', 'a1 0100', /text string/],
    ['tag', 'c100', /tags/],
    ['float', 'f90000', /floating/],
    ['undefined', 'f7', /simple values/],
    ['stray break', 'ff', /break/],
    ['truncated', '63 6f66', /exceeds/],
    ['trailing', '00 00', /trailing/],
    ['bad UTF-8', '62 c328', /UTF-8/],
    ['mixed chunks', '5f 6161 ff', /chunk/],
    ['no break', '9f 01', /without a break/],
    ['reserved', '1c', /reserved/],
    ['empty', '', /empty/],
  ];
  for (const [name, bytes, why] of cases) {
    t.throws(() => decode(hex(bytes)), { code: 'E_FRAME_BODY', message: why }, name);
  }
  t.same(decode(hex(`${'81'.repeat(7)} 00`)), [[[[[[[0]]]]]]], 'exactly 8 levels pass');
  t.equal((decode(hex(`9840 ${'00'.repeat(64)}`)) as unknown[]).length, 64, 'exactly 64 items pass');
});

t.test('never throws anything but the typed error on random bytes', async () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decode(bytes);
      } catch (err) {
        if (!isCtopError(err, 'E_FRAME_BODY')) throw err;
      }
    }),
    { numRuns: 2000 },
  );
});
