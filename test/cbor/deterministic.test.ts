import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import t from 'tap';
import {
  assertDeterministic,
  decodeDeterministic,
  decodeToMaps,
  decodeToObjects,
  encodeCanonical,
  Tag,
} from '../../src/cbor/index.js';
import { CtopError, isCtopError } from '../../src/errors.js';

/**
 * RFC 8949 Appendix A examples that apply to deterministic CBOR without floats: every one
 * must encode to exactly the listed bytes and pass the deterministic check.
 */
const APPENDIX_A: [string, unknown, string][] = [
  ['0', 0, '00'],
  ['1', 1, '01'],
  ['10', 10, '0a'],
  ['23', 23, '17'],
  ['24', 24, '1818'],
  ['25', 25, '1819'],
  ['100', 100, '1864'],
  ['1000', 1000, '1903e8'],
  ['1000000', 1000000, '1a000f4240'],
  ['1000000000000', 1000000000000, '1b000000e8d4a51000'],
  ['18446744073709551615', 18446744073709551615n, '1bffffffffffffffff'],
  ['-1', -1, '20'],
  ['-10', -10, '29'],
  ['-100', -100, '3863'],
  ['-1000', -1000, '3903e7'],
  ['false', false, 'f4'],
  ['true', true, 'f5'],
  ['null', null, 'f6'],
  ['1(1363896240)', new Tag(1363896240, 1), 'c11a514b67b0'],
  ["23(h'01020304')", new Tag(Buffer.from([1, 2, 3, 4]), 23), 'd74401020304'],
  ["24(h'6449455446')", new Tag(Buffer.from('6449455446', 'hex'), 24), 'd818456449455446'],
  [
    '32("http://www.example.com")',
    new Tag('http://www.example.com', 32),
    'd82076687474703a2f2f7777772e6578616d706c652e636f6d',
  ],
  ["h''", new Uint8Array(0), '40'],
  ["h'01020304'", new Uint8Array([1, 2, 3, 4]), '4401020304'],
  ['""', '', '60'],
  ['"a"', 'a', '6161'],
  ['"IETF"', 'IETF', '6449455446'],
  ['"\\"\\\\"', '"\\', '62225c'],
  ['"\\u00fc"', '\u00fc', '62c3bc'],
  ['"\\u6c34"', '\u6c34', '63e6b0b4'],
  ['"\\ud800\\udd51"', '\ud800\udd51', '64f0908591'],
  ['[]', [], '80'],
  ['[1, 2, 3]', [1, 2, 3], '83010203'],
  ['[1, [2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '8301820203820405'],
  [
    '[1, 2, …, 25]',
    Array.from({ length: 25 }, (_, i) => i + 1),
    '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
  ],
  ['{}', {}, 'a0'],
  [
    '{1: 2, 3: 4}',
    new Map([
      [1, 2],
      [3, 4],
    ]),
    'a201020304',
  ],
  ['{"a": 1, "b": [2, 3]}', { a: 1, b: [2, 3] }, 'a26161016162820203'],
  ['["a", {"b": "c"}]', ['a', { b: 'c' }], '826161a161626163'],
  [
    '{"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}',
    { e: 'E', d: 'D', c: 'C', b: 'B', a: 'A' },
    'a56161614161626142616361436164614461656145',
  ],
];

const ALL_TAGS = { allowedTags: [1, 23, 24, 32] };

t.test('RFC 8949 Appendix A: canonical encodings', async (t) => {
  for (const [label, value, hex] of APPENDIX_A) {
    const bytes = encodeCanonical(value);
    t.equal(bytes.toString('hex'), hex, `encode ${label}`);
    t.doesNotThrow(() => assertDeterministic(Buffer.from(hex, 'hex'), ALL_TAGS), `deterministic ${label}`);
  }
});

t.test('RFC 8949 Appendix A: decoding the canonical examples gives the values back', async (t) => {
  t.same(
    decodeDeterministic(Buffer.from('a201020304', 'hex')),
    new Map([
      [1, 2],
      [3, 4],
    ]),
  );
  t.same(decodeToObjects(Buffer.from('a26161016162820203', 'hex')), { a: 1, b: [2, 3] });
  t.equal(decodeDeterministic(Buffer.from('1bffffffffffffffff', 'hex')), 18446744073709551615n);
  // -2^64 decodes, but encodeCanonical refuses it: cbor-x would write a bignum (see src/cbor).
  t.equal(decodeDeterministic(Buffer.from('3bffffffffffffffff', 'hex')), -18446744073709551616n);
  t.throws(() => encodeCanonical(-18446744073709551616n), TypeError);
  t.throws(() => encodeCanonical(2n ** 64n), TypeError);
  t.equal(decodeDeterministic(Buffer.from('64f0908591', 'hex')), '\ud800\udd51');
  const tag = decodeDeterministic(Buffer.from('d74401020304', 'hex'), ALL_TAGS) as Tag;
  t.equal(tag.tag, 23);
  t.same([...(tag.value as Uint8Array)], [1, 2, 3, 4]);
});

/** Appendix A items that are valid CBOR but not deterministic: refused where input must be canonical. */
const NOT_DETERMINISTIC: [string, string][] = [
  ["(_ h'0102', h'030405')", '5f42010243030405ff'],
  ['(_ "strea", "ming")', '7f657374726561646d696e67ff'],
  ['[_ ]', '9fff'],
  ['[_ 1, [2, 3], [_ 4, 5]]', '9f018202039f0405ffff'],
  ['[1, [2, 3], [_ 4, 5]]', '83018202039f0405ff'],
  ['{_ "a": 1, "b": [_ 2, 3]}', 'bf61610161629f0203ffff'],
  ['{_ "Fun": true, "Amt": -2}', 'bf6346756ef563416d7421ff'],
  ['0 as 1 byte argument', '1800'],
  ['23 as 1 byte argument', '1817'],
  ['255 as 2 byte argument', '1900ff'],
  ['65535 as 4 byte argument', '1a0000ffff'],
  ['2^32-1 as 8 byte argument', '1b00000000ffffffff'],
  ['text length 1 in 1 byte argument', '780161'],
  ['map keys out of order', 'a2616201616101'],
  ['shorter key after longer key', 'a262616101616202'],
];

t.test('non-deterministic encodings are refused with E_MANIFEST_NOT_CANONICAL', async (t) => {
  for (const [label, hex] of NOT_DETERMINISTIC) {
    t.throws(() => assertDeterministic(Buffer.from(hex, 'hex')), { code: 'E_MANIFEST_NOT_CANONICAL' }, label);
  }
});

const MALFORMED: [string, string][] = [
  ['empty input', ''],
  ['truncated argument', '19'],
  ['truncated string', '6461'],
  ['reserved additional information 28', '1c'],
  ['indefinite integer', '1f'],
  ['lone break', 'ff'],
  ['trailing bytes', '0000'],
  ['half-precision float 0.0', 'f90000'],
  ['double 1.1', 'fb3ff199999999999a'],
  ['undefined', 'f7'],
  ['simple(16)', 'f0'],
  ['simple(255)', 'f8ff'],
  ['invalid UTF-8 text', '62c328'],
  ['lone surrogate in text', '63eda080'],
  ['duplicate map key', 'a2616101616102'],
  ['tag not allowed', 'c11a514b67b0'],
  ['shared-reference tag of cbor-x', 'd81c80'],
  ['array longer than the input', '990100000000'],
  ['map longer than the input', 'b90100'],
];

t.test('malformed CBOR is refused with E_MANIFEST_MALFORMED', async (t) => {
  for (const [label, hex] of MALFORMED) {
    t.throws(() => assertDeterministic(Buffer.from(hex, 'hex')), { code: 'E_MANIFEST_MALFORMED' }, label);
  }
});

t.test('limits are checked from the headers, before anything is allocated', async (t) => {
  // An array header claiming 2^64-1 items in 9 bytes: refused from the header alone.
  t.throws(() => assertDeterministic(Buffer.from('9bffffffffffffffff', 'hex')), { code: 'E_MANIFEST_LIMIT' });
  t.throws(() => assertDeterministic(Buffer.from('9a00010000', 'hex'), { maxArrayLength: 10 }), {
    code: 'E_MANIFEST_LIMIT',
  });
  t.throws(() => assertDeterministic(Buffer.from('bb0000000100000000', 'hex')), { code: 'E_MANIFEST_LIMIT' });
  const deep = Buffer.concat([Buffer.alloc(20, 0x81), Buffer.from([0x00])]);
  t.throws(() => assertDeterministic(deep, { maxDepth: 16 }), { code: 'E_MANIFEST_LIMIT' });
  t.doesNotThrow(() => assertDeterministic(deep, { maxDepth: 20 }));
  t.throws(() => assertDeterministic(encodeCanonical('x'.repeat(100)), { maxTextBytes: 99 }), {
    code: 'E_MANIFEST_LIMIT',
  });
  t.doesNotThrow(() => assertDeterministic(encodeCanonical('x'.repeat(99)), { maxTextBytes: 99 }));
  t.throws(() => assertDeterministic(encodeCanonical(new Uint8Array(10)), { maxByteStringBytes: 9 }), {
    code: 'E_MANIFEST_LIMIT',
  });
  // A million nested arrays: no stack overflow, a limit error at the 17th level.
  const veryDeep = Buffer.alloc(1_000_000, 0x81);
  t.throws(() => assertDeterministic(veryDeep), { code: 'E_MANIFEST_LIMIT' });
});

t.test('the caller chooses the error codes (e.g. the frame codec uses its own)', async (t) => {
  const codes = {
    malformed: 'E_FRAME_BODY',
    nonCanonical: 'E_FRAME_BODY',
    limit: 'E_LOCK_OVERSIZE',
  } as const;
  t.throws(() => assertDeterministic(Buffer.from('f7', 'hex'), {}, codes), { code: 'E_FRAME_BODY' });
  t.throws(() => assertDeterministic(Buffer.from('9bffffffffffffffff', 'hex'), {}, codes), {
    code: 'E_LOCK_OVERSIZE',
  });
});

t.test('floats, unsafe integers and duplicate keys are refused when encoding', async (t) => {
  t.throws(() => encodeCanonical(1.5), TypeError);
  t.throws(() => encodeCanonical({ weight: 0.1 }), TypeError);
  t.throws(() => encodeCanonical(2 ** 53), TypeError);
  // 1 and 1n are distinct Map keys in JavaScript but the same CBOR key.
  const duplicate = new Map<unknown, unknown>([
    [1, 'a'],
    [1n, 'b'],
  ]);
  t.throws(() => encodeCanonical({ ok: 1, nested: duplicate }), TypeError);
});

/** Deterministic-CBOR-shaped values: no floats, text-keyed maps. */
const cborValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 300 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 30 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 30 }), tie('value'), { maxKeys: 30 }),
  ),
})).value;

t.test('property: everything encodeCanonical writes is deterministic and decodes to itself', async (t) => {
  fc.assert(
    fc.property(cborValue, (value) => {
      const bytes = encodeCanonical(value);
      assertDeterministic(bytes, { maxDepth: 64, maxTextBytes: 1 << 20, maxMapSize: 1000 });
      const again = encodeCanonical(decodeToMaps(bytes));
      return Buffer.compare(bytes, again) === 0;
    }),
    { numRuns: 500 },
  );
  t.pass('500 random values');
});

t.test(
  'property: random and mutated bytes yield a result or a typed error, never anything else',
  async (t) => {
    const check = (bytes: Uint8Array) => {
      try {
        decodeDeterministic(bytes, { allowedTags: [18] });
      } catch (err) {
        if (!isCtopError(err)) throw err;
        return ['E_MANIFEST_MALFORMED', 'E_MANIFEST_NOT_CANONICAL', 'E_MANIFEST_LIMIT'].includes(err.code);
      }
      return true;
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 3000 });
    fc.assert(
      fc.property(cborValue, fc.nat(), fc.integer({ min: 1, max: 255 }), (value, at, xor) => {
        const bytes = Buffer.from(encodeCanonical(value));
        if (bytes.length === 0) return true;
        bytes[at % bytes.length]! ^= xor;
        return check(bytes);
      }),
      { numRuns: 3000 },
    );
    t.ok(new CtopError('E_MANIFEST_MALFORMED') instanceof CtopError);
  },
);

t.test(
  'property: map keys are judged in the bytewise order of their encodings, text by UTF-8 validity',
  async (t) => {
    // The scanner compares keys and checks text in place; Buffer.compare and isUtf8 are the reference.
    const key = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.uint8Array({ maxLength: 12 }),
      fc.integer({ min: -300, max: 300 }),
    );
    fc.assert(
      fc.property(key, key, (a, b) => {
        const ka = encodeCanonical(a);
        const kb = encodeCanonical(b);
        const map = Buffer.concat([Buffer.from([0xa2]), ka, Buffer.from([0]), kb, Buffer.from([0])]);
        const order = Buffer.compare(ka, kb);
        let code: string | undefined;
        try {
          assertDeterministic(map);
        } catch (err) {
          code = isCtopError(err) ? err.code : 'not typed';
        }
        return (
          code === (order < 0 ? undefined : order === 0 ? 'E_MANIFEST_MALFORMED' : 'E_MANIFEST_NOT_CANONICAL')
        );
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 30 }).map((x) => Buffer.from(x)),
          fc
            // ASCII with one byte replaced: a lone continuation or lead byte among ASCII.
            .tuple(fc.uint8Array({ minLength: 24, maxLength: 30, max: 0x7f }), fc.nat(), fc.nat(255))
            .map(([ascii, at, b]) => {
              const raw = Buffer.from(ascii);
              raw[at % raw.byteLength] = b;
              return raw;
            }),
        ),
        (raw) => {
          const text = Buffer.concat([Buffer.from([0x78, raw.byteLength]), raw]);
          let valid = true;
          try {
            assertDeterministic(text);
          } catch {
            valid = false;
          }
          return valid === (raw.byteLength >= 24 && isUtf8(raw));
        },
      ),
      { numRuns: 3000 },
    );
    t.pass('keys and text judged as the reference judges them');
  },
);
