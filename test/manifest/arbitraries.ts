import fc from 'fast-check';
import {
  containerCheckDigit,
  kzBinCheckDigit,
  usccCheckCharacter,
  wagonCheckDigit,
} from '../../src/manifest/identifiers/index.js';

/** fast-check generators of valid goods-file content, in the corridor's scripts and languages. */

const LETTERS = [
  ...'AaBbCcDdEeKkZz Астық Бидай Қостанай Жетісу 新疆粮油有限公司 乌鲁木齐 西安 Ööü 0123456789 ,.-()«»"\'',
];

export const text = (max: number) =>
  fc
    .array(fc.constantFrom(...LETTERS), { minLength: 1, maxLength: max })
    .map((chars) => chars.join('').trim())
    .filter((s) => s.length > 0);

const digits = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));
const upper = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Z0-9]{${min},${max}}$`));

export const containerNumber = fc
  .tuple(fc.stringMatching(/^[A-Z]{3}$/), fc.constantFrom('U', 'J', 'Z'), digits(6))
  .map(([owner, cat, serial]) => `${owner}${cat}${serial}`)
  .map((first10) => `${first10}${containerCheckDigit(first10)}`);

export const wagonNumber = fc.oneof(
  digits(7).map((d) => `${d}${wagonCheckDigit(d)}`),
  fc.stringMatching(/^X70-[0-9]{7}$/),
);

const kzBin = digits(11)
  .map((d) => [d, kzBinCheckDigit(d)] as const)
  .filter(([, c]) => c !== undefined)
  .map(([d, c]) => `${d}${c}`);
const USCC = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const uscc = fc
  .array(fc.constantFrom(...USCC), { minLength: 17, maxLength: 17 })
  .map((c) => c.join(''))
  .map((c) => `${c}${usccCheckCharacter(c)}`);

const COUNTRIES = ['KZ', 'CN', 'DE', 'PL', 'UZ', 'BY'];

// Arbitraries are built once, outside `chain`: building one (a regex for stringMatching)
// per generated value is what makes property tests slow.
const otherId = upper(5, 20);
const partyName = text(60);
const partyAddress = text(80);
const party = fc.oneof(
  ...(
    [
      ['KZ', kzBin],
      ['CN', uscc],
      ['DE', otherId],
    ] as const
  ).map(([country, id]) =>
    fc.record({ name: partyName, address: partyAddress, country: fc.constant(country), id }),
  ),
);

const day = fc
  .date({ min: new Date('2001-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

const decimal = (fractionDigits: number) =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 9_999_999 }),
      fc.option(digits(Math.max(fractionDigits, 1)), { nil: undefined }),
    )
    .map(([int, frac]) =>
      frac === undefined || fractionDigits === 0 ? String(int) : `${int}.${frac.slice(0, fractionDigits)}`,
    );

const CHAPTERS = ['01', '10', '27', '39', '61', '72', '74', '84', '85', '87', '94', '95', '97'];
const hs = fc.tuple(fc.constantFrom(...CHAPTERS), digits(8)).map(([c, d]) => `${c}${d}`);
const UNITS = ['KGM', 'TNE', 'H87', 'C62', 'LTR', 'MTQ', 'SET', 'PR'];
const CURRENCIES: [string, number][] = [
  ['KZT', 2],
  ['CNY', 2],
  ['USD', 2],
  ['EUR', 2],
  ['JPY', 0],
  ['KWD', 3],
];

const eaeuDeclaration = fc
  .tuple(fc.constantFrom('55201', '10702020'), day, digits(7))
  .map(([office, date, n]) => `${office}/${date.slice(8, 10)}${date.slice(5, 7)}${date.slice(2, 4)}/${n}`);

const lineName = text(80);
const quantity = decimal(6);
const weight = decimal(3);
const unit = fc.constantFrom(...UNITS);
const origin = fc.constantFrom(...COUNTRIES);
const supplementary = fc.option(fc.tuple(quantity, unit), { nil: undefined });
const declaration = fc.option(
  fc.tuple(fc.oneof(eaeuDeclaration, fc.constant('900120251000045678')), fc.integer({ min: 1, max: 9999 })),
  { nil: undefined },
);
const ids = fc.option(fc.uniqueArray(upper(1, 20), { minLength: 1, maxLength: 5 }), { nil: undefined });
const goodsLine = fc.oneof(
  ...CURRENCIES.map(([currency, minor]) =>
    fc.record({
      name: lineName,
      hs,
      quantity,
      unit,
      grossWeightKg: weight,
      value: decimal(minor),
      currency: fc.constant(currency),
      origin,
      supplementary,
      declaration,
      ids,
    }),
  ),
);

/** A valid goods file's content (JSON form). */
export function validGoodsInput(): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      lockId: fc.stringMatching(/^[A-Z0-9-]{1,16}$/),
      container: containerNumber,
      wagon: wagonNumber,
      train: upper(1, 12),
      departure: upper(1, 12),
      destination: upper(1, 12),
      route: fc.constantFrom(
        ['KZ', 'CN', []],
        ['CN', 'KZ', []],
        ['CN', 'DE', ['KZ', 'RU']],
        ['UZ', 'CN', ['KZ']],
      ),
      createdAt: fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
      issuingAuthority: text(100),
      consignor: party,
      consignee: party,
      document: fc.record({ type: text(20), number: upper(1, 20), date: day }),
      deliveryPlace: fc.option(text(100), { nil: undefined }),
      goods: fc.array(goodsLine, { minLength: 1, maxLength: 6 }),
    })
    .map(({ route, goods, deliveryPlace, ...rest }) => {
      const [departureCountry, destinationCountry, transit] = route as unknown as [string, string, string[]];
      return {
        ...rest,
        departureCountry,
        destinationCountry,
        ...(transit.length > 0 ? { transitCountries: transit } : {}),
        ...(deliveryPlace === undefined ? {} : { deliveryPlace }),
        goods: goods.map(({ supplementary, declaration, ids, ...line }, i) => ({
          line: i + 1,
          ...line,
          ...(supplementary
            ? { supplementaryQuantity: supplementary[0], supplementaryUnit: supplementary[1] }
            : {}),
          ...(declaration ? { declarationNumber: declaration[0], declarationItem: declaration[1] } : {}),
          ...(ids ? { ids } : {}),
        })),
      };
    });
}
