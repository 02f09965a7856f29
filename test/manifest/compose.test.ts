import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { encodeCanonical } from '../../src/cbor/index.js';
import { CtopError, isCtopError } from '../../src/errors.js';
import {
  composeManifest,
  DEFAULT_LIMITS,
  decodeDraft,
  encodeDraft,
  type ManifestIssue,
  parseGoodsFile,
  readGoodsFile,
} from '../../src/manifest/index.js';
import { validGoodsInput } from './arbitraries.js';

const clock = { now: () => Date.parse('2025-05-20T12:00:00Z'), monotonic: () => 0 };

function minimal(): Record<string, unknown> {
  return {
    issuingAuthority: 'KZ 55201 Dostyk customs post',
    lockId: 'SSL-KZ-000001',
    container: 'MSKU4002711',
    wagon: '42903518',
    train: '1001',
    departure: 'DOSTYK',
    destination: 'ALASHANKOU',
    departureCountry: 'KZ',
    destinationCountry: 'CN',
    consignor: { name: 'Steppe Copper LLP', address: 'Karaganda', country: 'KZ', id: '070340002316' },
    consignee: { name: 'Alataw Metals', address: 'Alashankou', country: 'CN', id: '91650100MA77L3K20L' },
    document: { type: 'SMGS', number: '1', date: '2025-05-20' },
    goods: [
      {
        name: 'Copper cathodes',
        hs: '7403110000',
        quantity: '24',
        unit: 'TNE',
        grossWeightKg: '24050',
        value: '216000',
        currency: 'USD',
        origin: 'KZ',
      },
    ],
  };
}

function issuesOf(fn: () => unknown): ManifestIssue[] {
  try {
    fn();
  } catch (err) {
    if (isCtopError(err)) return (err.details.issues as ManifestIssue[]) ?? [];
    throw err;
  }
  throw new Error('expected a CtopError');
}

t.test('input mode normalises what people type; the manifest carries one canonical form', async (t) => {
  const input = minimal();
  input.container = ' msku 400271-1 ';
  input.train = 1001;
  (input.goods as Record<string, unknown>[])[0] = {
    ...(input.goods as Record<string, unknown>[])[0],
    quantity: 24,
    grossWeightKg: 24050.5,
    hs: '7403.11.0000',
    ids: 'LOT-1; LOT-2',
  };
  const { manifest, warnings } = composeManifest(input, { clock });
  t.equal(manifest.routing.container, 'MSKU4002711');
  t.equal(manifest.routing.train, '1001');
  t.equal(manifest.routing.createdAt, clock.now(), 'a missing createdAt is now');
  const line = manifest.body.goods[0]!;
  t.equal(line.line, 1, 'line numbers assigned in order when absent');
  t.equal(line.quantity, '24');
  t.equal(line.grossWeightKg, '24050.5');
  t.equal(line.hs, '7403110000');
  t.same(line.ids, ['LOT-1', 'LOT-2']);
  t.same(warnings, []);
  t.same(decodeDraft(encodeDraft(manifest), DEFAULT_LIMITS), manifest, 'the draft round-trips');
});

t.test('every problem is reported at once, with path and line, coded by the first', async (t) => {
  const text = `{
  "lockId": "SSL-KZ-000001",
  "container": "MSKU4002712",
  "wagon": "42903518",
  "train": "1001",
  "departure": "DOSTYK",
  "destination": "ALASHANKOU",
  "departureCountry": "KZ",
  "destinationCountry": "XX",
  "issuingAuthority": "KZ 55201",
  "consignor": { "name": "A", "address": "B", "country": "KZ", "id": "070340002316" },
  "consignee": { "name": "C", "address": "D", "country": "CN", "id": "91650100MA77L3K20L" },
  "document": { "type": "SMGS", "number": "1", "date": "2025-02-30" },
  "goods": [
    {
      "name": "Copper",
      "hs": "7403110000",
      "quantity": "24",
      "unit": "KG",
      "grossWeightKg": "24050",
      "value": "1.234",
      "currency": "USD",
      "origin": "KZ",
      "colour": "red"
    }
  ]
}`;
  const parsed = parseGoodsFile(text, 'json', 'goods.json');
  let error: CtopError | undefined;
  try {
    composeManifest(parsed.input, { locate: parsed.locate, source: parsed.source, clock });
  } catch (err) {
    error = err as CtopError;
  }
  t.ok(error instanceof CtopError);
  t.equal(error!.code, 'E_MANIFEST_CONTAINER', 'the first problem decides the code');
  const got = (error!.details.issues as ManifestIssue[]).map((i) => [i.path, i.code, i.line]);
  t.same(got, [
    ['container', 'E_MANIFEST_CONTAINER', 3],
    ['destinationCountry', 'E_MANIFEST_COUNTRY', 9],
    ['document.date', 'E_MANIFEST_DATE', 13],
    ['goods[0].colour', 'E_MANIFEST_SCHEMA', 24],
    ['goods[0].unit', 'E_MANIFEST_UNIT', 19],
    ['goods[0].value', 'E_MANIFEST_CURRENCY', 21],
  ]);
  t.match(
    error!.message,
    /^goods\.json: 6 problems:\n {2}goods\.json:3: container: "MSKU4002712": check digit is 2/,
  );
});

t.test('required fields, pairs, order and exclusions', async (t) => {
  const withoutDocument = minimal();
  delete withoutDocument.document;
  t.same(
    issuesOf(() => composeManifest(withoutDocument, { clock })).map((i) => i.path),
    ['document'],
  );
  const half = minimal();
  (half.goods as Record<string, unknown>[])[0]!.supplementaryQuantity = '2';
  (half.goods as Record<string, unknown>[])[0]!.declarationItem = 3;
  t.same(
    issuesOf(() => composeManifest(half, { clock })).map((i) => `${i.path} ${i.message}`),
    [
      'goods[0].supplementaryUnit is required together with supplementaryQuantity',
      'goods[0].declarationNumber is required together with declarationItem',
    ],
  );
  const order = minimal();
  const line = (order.goods as Record<string, unknown>[])[0]!;
  order.goods = [
    { ...line, line: 2 },
    { ...line, line: 2 },
  ];
  t.match(
    issuesOf(() => composeManifest(order, { clock })),
    [{ path: 'goods[1].line', code: 'E_MANIFEST_SCHEMA' }],
  );
  const postal = { ...minimal(), postal: 'да', personalUse: false };
  t.match(
    issuesOf(() => composeManifest(postal, { clock })),
    [{ path: 'postal', code: 'E_MANIFEST_EXCLUDED' }],
  );
  // An exclusion comes first whatever else is wrong: the consignment is out of scope.
  const both = { ...minimal(), container: 'X', personalUse: true };
  t.throws(() => composeManifest(both, { clock }), { code: 'E_MANIFEST_EXCLUDED' });
  t.throws(() => composeManifest([], { clock }), { code: 'E_MANIFEST_SCHEMA' });
  t.throws(() => composeManifest({ ...minimal(), extra: 1 }, { clock }), {
    code: 'E_MANIFEST_SCHEMA',
    message: /extra: unknown field/,
  });
});

t.test('text is checked for length and for control or bidi-override characters', async (t) => {
  const long = minimal();
  (long.consignor as Record<string, unknown>).name = 'Ж'.repeat(301);
  t.match(
    issuesOf(() => composeManifest(long, { clock })),
    [{ path: 'consignor.name', code: 'E_MANIFEST_LIMIT' }],
  );
  for (const bad of ['Copper\u001b[2J', 'Copper\u202eDSU', 'a\u0000b']) {
    const input = minimal();
    (input.goods as Record<string, unknown>[])[0]!.name = bad;
    t.match(
      issuesOf(() => composeManifest(input, { clock })),
      [{ path: 'goods[0].name', code: 'E_MANIFEST_SCHEMA' }],
      JSON.stringify(bad),
    );
  }
});

t.test('limits: goods lines and manifest size', async (t) => {
  const many = minimal();
  const line = (many.goods as Record<string, unknown>[])[0]!;
  many.goods = Array.from({ length: 11 }, () => ({ ...line }));
  t.throws(() => composeManifest(many, { clock, limits: { maxGoodsLines: 10 } }), {
    code: 'E_MANIFEST_LIMIT',
    message: /11 lines; at most 10/,
  });
  t.doesNotThrow(() => composeManifest(many, { clock, limits: { maxGoodsLines: 11 } }));
  t.throws(() => composeManifest(many, { clock, limits: { maxBytes: 1024 } }), {
    code: 'E_MANIFEST_TOO_LARGE',
  });
  t.throws(() => composeManifest(many, { clock, limits: { maxBytes: 0 } }), TypeError);
});

t.test(
  'the CTOP scope: goods leaving KZ or CN for or through the other; others are warned about',
  async (t) => {
    const outside = { ...minimal(), departureCountry: 'RU', destinationCountry: 'DE' };
    const { warnings } = composeManifest(outside, { clock });
    t.match(warnings, [
      { code: 'E_MANIFEST_COUNTRY', severity: 'warning', message: /outside the CTOP Protocol/ },
    ]);
    const transit = {
      ...minimal(),
      departureCountry: 'CN',
      destinationCountry: 'DE',
      transitCountries: ['KZ', 'RU'],
    };
    t.same(composeManifest(transit, { clock }).warnings, []);
    const duplicate = { ...transit, transitCountries: ['KZ', 'KZ'] };
    t.match(
      issuesOf(() => composeManifest(duplicate, { clock })),
      [{ path: 'transitCountries[1]' }],
    );
  },
);

t.test('CSV: quoting, embedded newlines, delimiters, BOM, and errors with their line', async (t) => {
  const head = (d: string, multiline = false) =>
    [
      '# a comment',
      `@lockId${d}SSL-KZ-000001`,
      `@container${d}MSKU4002711`,
      `@wagon${d}42903518`,
      `@train${d}1001`,
      `@departure${d}DOSTYK`,
      `@destination${d}ALASHANKOU`,
      `@departureCountry${d}KZ`,
      `@destinationCountry${d}CN`,
      `@issuingAuthority${d}"KZ 55201 Dostyk, ""post"""`,
      `@consignor.name${d}"ТОО ""Астық"""`,
      ...(multiline
        ? [`@consignor.address${d}"line one`, `line two"`]
        : [`@consignor.address${d}"Karaganda, 1"`, '']),
      `@consignor.country${d}KZ`,
      `@consignor.id${d}070340002316`,
      `@consignee.name${d}Alataw`,
      `@consignee.address${d}Alashankou`,
      `@consignee.country${d}CN`,
      `@consignee.id${d}91650100MA77L3K20L`,
      `@document.type${d}SMGS`,
      `@document.number${d}1`,
      `@document.date${d}2025-05-20`,
      '',
    ].join('\n');
  const columns = ['line', 'name', 'hs', 'quantity', 'unit', 'grossWeightKg', 'value', 'currency', 'origin'];
  for (const d of [',', ';', '\t']) {
    const csv = `\ufeff${head(d)}\n${columns.join(d)}\n1${d}"Медь, катоды"${d}7403110000${d}24${d}TNE${d}24050${d}216000${d}USD${d}KZ\n`;
    const parsed = parseGoodsFile(csv, 'csv', 'g.csv');
    const { manifest } = composeManifest(parsed.input, { locate: parsed.locate, clock });
    t.equal(manifest.routing.issuingAuthority, 'KZ 55201 Dostyk, "post"', JSON.stringify(d));
    t.equal(manifest.body.consignor.name, 'ТОО "Астық"');
    t.equal(manifest.body.consignor.address, 'Karaganda, 1');
    t.equal(manifest.body.goods[0]!.name, 'Медь, катоды');
  }
  // The embedded newline in consignor.address is text with a control character: refused at its line,
  // and the goods row after it still gets its true line number (25).
  const csv = `${head(',', true)}\n${columns.join(',')}\n1,Copper,74031,24,TNE,24050,216000,USD,KZ\n`;
  const parsed = parseGoodsFile(csv, 'csv', 'g.csv');
  t.match(
    issuesOf(() => composeManifest(parsed.input, { locate: parsed.locate, clock })),
    [
      { path: 'consignor.address', line: 12, code: 'E_MANIFEST_SCHEMA' },
      { path: 'goods[0].hs', line: 25, code: 'E_MANIFEST_HS_CODE' },
    ],
  );
  const bad: [string, RegExp][] = [
    [`${columns.join(',')}\n@lockId,X\n`, /g\.csv:2: field row "@lockId" after the goods header/],
    ['@lockId,X\n@lockId,Y\n', /g\.csv:2: @lockId is given twice/],
    ['@lock id,X\n', /g\.csv:1: "@lock id" is not a field path/],
    ['@lockId,X,Y\n', /g\.csv:1: @lockId has more than one value/],
    ['line,name,line\n', /g\.csv:1: column "line" appears twice/],
    ['line,name\n1,a,b\n', /g\.csv:2: 3 cells but the header names 2 columns/],
    ['@lockId,"X\n', /g\.csv:1: a quoted cell is not closed/],
  ];
  for (const [text, message] of bad)
    t.throws(() => parseGoodsFile(text, 'csv', 'g.csv'), { code: 'E_MANIFEST_INPUT', message });
  const unknownColumn = parseGoodsFile(
    `${head(',', true)}\n${columns.join(',')},colour\n1,Cu,7403110000,24,TNE,24050,216000,USD,KZ,red\n`,
    'csv',
    'g.csv',
  );
  t.match(
    issuesOf(() => composeManifest(unknownColumn.input, { locate: unknownColumn.locate, clock })),
    [{ path: 'consignor.address' }, { path: 'goods[0].colour', line: 25, message: 'unknown field' }],
  );
});

t.test('JSON syntax errors name the line', async (t) => {
  const cases: [string, number][] = [
    ['{\n  "lockId": "A",\n  "container": \n}\n', 4],
    ['{\n  "lockId": "A"\n  "container": "B"\n}\n', 3],
    ['{\n  "goods": [\n    {"name": "a",},\n  ]\n}', 3],
    ['{"a": "tab\there"}', 1],
    ['\n\n', 3],
    ['{"a": 1} x', 1],
  ];
  for (const [text, line] of cases) {
    t.throws(
      () => parseGoodsFile(text, 'json', 'g.json'),
      { code: 'E_MANIFEST_INPUT', message: new RegExp(`^g\\.json:${line}: not valid JSON`) },
      JSON.stringify(text),
    );
  }
});

t.test('goods files: size capped before reading, format from the name', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-goods-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const big = path.join(dir, 'big.json');
  writeFileSync(big, Buffer.alloc(1024 * 16 + 1, 0x20));
  t.throws(() => readGoodsFile(big, { limits: { maxBytes: 1024 } }), { code: 'E_MANIFEST_TOO_LARGE' });
  const odd = path.join(dir, 'goods.xlsx');
  writeFileSync(odd, '');
  t.throws(() => readGoodsFile(odd), { code: 'E_USAGE', message: /--format json\|csv/ });
  t.throws(() => readGoodsFile(path.join(dir, 'missing.json')), { code: 'E_FILE' });
  const json = path.join(dir, 'g.json');
  writeFileSync(json, JSON.stringify(minimal()));
  t.equal(readGoodsFile(json).format, 'json');
  t.equal(readGoodsFile(json).source, 'g.json');
});

t.test('wire mode is strict: the decoder accepts only the canonical form', async (t) => {
  const { manifest } = composeManifest(minimal(), { clock });
  const draft = { v: 1, routing: manifest.routing, body: manifest.body };
  const variants: [string, unknown, string][] = [
    ['spaces around text', { ...draft, routing: { ...draft.routing, train: ' 1001' } }, 'E_MANIFEST_SCHEMA'],
    [
      'a number as a decimal',
      { ...draft, body: { ...draft.body, goods: [{ ...draft.body.goods[0], quantity: 24 }] } },
      'E_MANIFEST_DECIMAL',
    ],
    [
      'createdAt as text',
      { ...draft, routing: { ...draft.routing, createdAt: '2025-05-20T12:00:00Z' } },
      'E_MANIFEST_DATE',
    ],
    [
      'door-style container',
      { ...draft, routing: { ...draft.routing, container: 'MSKU 400271 1' } },
      'E_MANIFEST_CONTAINER',
    ],
    [
      'lower-case country',
      { ...draft, routing: { ...draft.routing, departureCountry: 'kz' } },
      'E_MANIFEST_COUNTRY',
    ],
    ['an empty list', { ...draft, routing: { ...draft.routing, transitCountries: [] } }, 'E_MANIFEST_SCHEMA'],
    [
      'an input-only flag',
      { ...draft, body: { ...draft.body, goods: [{ ...draft.body.goods[0], postal: false }] } },
      'E_MANIFEST_SCHEMA',
    ],
    ['schema version 2', { ...draft, v: 2 }, 'E_MANIFEST_MALFORMED'],
    [
      'a missing line number',
      { ...draft, body: { ...draft.body, goods: [{ ...draft.body.goods[0], line: undefined }] } },
      'E_MANIFEST_SCHEMA',
    ],
  ];
  for (const [label, value, code] of variants) {
    t.throws(() => decodeDraft(encodeCanonical(value), DEFAULT_LIMITS), { code }, label);
  }
});

t.test('property: any valid goods input composes, and its draft decodes to the same manifest', async (t) => {
  fc.assert(
    fc.property(validGoodsInput(), (input) => {
      const { manifest } = composeManifest(input, { clock });
      const again = decodeDraft(encodeDraft(manifest), DEFAULT_LIMITS);
      // Composing the canonical form again is a no-op: input normalisation is idempotent.
      const recomposed = composeManifest({ ...manifest.routing, ...manifest.body }, { clock }).manifest;
      return isDeepStrictEqual(again, manifest) && isDeepStrictEqual(recomposed, manifest);
    }),
    { numRuns: 150 },
  );
  t.pass('150 generated goods files');
});

t.test('property: arbitrary JSON never escapes as anything but a CtopError', async (t) => {
  const mutate = fc.record({
    path: fc.constantFrom(
      'container',
      'wagon',
      'goods',
      'consignor',
      'document',
      'createdAt',
      'transitCountries',
    ),
    value: fc.jsonValue(),
  });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.jsonValue(),
        mutate.map(({ path, value }) => ({ ...minimal(), [path]: value })),
      ),
      (input) => {
        try {
          composeManifest(input, { clock });
        } catch (err) {
          if (!(err instanceof CtopError)) throw err;
        }
        return true;
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});
