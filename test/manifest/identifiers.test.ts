import fc from 'fast-check';
import t from 'tap';
import { isCountryCode } from '../../src/manifest/codes/countries.js';
import { currencyMinorUnits } from '../../src/manifest/codes/currencies.js';
import { isUnitCode } from '../../src/manifest/codes/units.js';
import {
  checkCnUscc,
  checkContainerNumber,
  checkDate,
  checkDecimal,
  checkDeclarationNumber,
  checkHsCode,
  checkKzBin,
  checkRuInn,
  checkWagonNumber,
  containerCheckDigit,
  kzBinCheckDigit,
  parseInstant,
  USCC_CHARSET,
  usccCheckCharacter,
  wagonCheckDigit,
} from '../../src/manifest/identifiers/index.js';

t.test('ISO 6346 container numbers', async (t) => {
  // The worked example of ISO 6346 Annex A.
  t.equal(checkContainerNumber('CSQU3054383'), undefined);
  t.equal(containerCheckDigit('CSQU305438'), 3);
  t.match(checkContainerNumber('CSQU3054384'), /check digit is 4, ISO 6346 gives 3/);
  t.match(checkContainerNumber('CSQX3054383'), /not an ISO 6346/, 'category must be U, J or Z');
  t.match(checkContainerNumber('CSQU305438'), /not an ISO 6346/);
  t.match(checkContainerNumber('csqu3054383'), /not an ISO 6346/, 'the wire form is upper case');
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Z]{3}[UJZ][0-9]{6}$/),
      fc.integer({ min: 1, max: 9 }),
      (first10, delta) => {
        const good = `${first10}${containerCheckDigit(first10)}`;
        const bad = `${first10}${(containerCheckDigit(first10) + delta) % 10}`;
        return checkContainerNumber(good) === undefined && checkContainerNumber(bad) !== undefined;
      },
    ),
  );
});

t.test('1520-gauge wagon numbers: Luhn-style check digit; other formats only warned about', async (t) => {
  // Weights 2,1,2,1,2,1,2; digits of products summed: 5·2=10→1, 4, 7·2=14→5, 4, 5·2=10→1, 3, 8·2=16→7 = 25 → 5.
  t.equal(wagonCheckDigit('5474538'), 5);
  t.same(checkWagonNumber('54745385'), {});
  t.match(checkWagonNumber('54745386').error, /check digit is 6, the 1520-gauge scheme gives 5/);
  t.match(checkWagonNumber('X70-5012346').warning, /not an 8-digit 1520-gauge/);
  t.equal(checkWagonNumber('X70-5012346').error, undefined);
  t.match(checkWagonNumber('ваг 1').error, /not a wagon number/);
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{7}$/), fc.integer({ min: 1, max: 9 }), (first7, delta) => {
      const good = `${first7}${wagonCheckDigit(first7)}`;
      const bad = `${first7}${(wagonCheckDigit(first7) + delta) % 10}`;
      return checkWagonNumber(good).error === undefined && checkWagonNumber(bad).error !== undefined;
    }),
  );
});

t.test('Kazakhstan BIN/IIN: 12 digits, two-pass mod 11 checksum', async (t) => {
  t.equal(checkKzBin('070340002316'), undefined);
  t.equal(checkKzBin('151140002319'), undefined);
  t.match(checkKzBin('070340002317'), /check digit is 7, the BIN\/IIN checksum gives 6/);
  t.match(checkKzBin('07034000231'), /12 digits/);
  // 0000000001 0: the first pass gives 1·10 = 10, so the second pass decides: weight 1 → 1.
  t.equal(kzBinCheckDigit('00000000010'), 1, 'second-pass weights 3..11,1,2');
  t.equal(checkKzBin('000000000101'), undefined);
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{11}$/), (first11) => {
      const check = kzBinCheckDigit(first11);
      if (check === undefined) return checkKzBin(`${first11}0`) !== undefined;
      return (
        checkKzBin(`${first11}${check}`) === undefined &&
        checkKzBin(`${first11}${(check + 1) % 10}`) !== undefined
      );
    }),
  );
});

t.test('China unified social credit code: 18 characters, mod 31 check character', async (t) => {
  for (const code of ['91350100M000100Y43', '91610131MA6TX4R5LU', '91650204MA79H6QE13'])
    t.equal(checkCnUscc(code), undefined, code);
  t.match(checkCnUscc('91350100M000100Y44'), /check character is 4, GB 32100 gives 3/);
  t.match(checkCnUscc('91350100I000100Y43'), /18 characters/, 'I is not in the character set');
  t.equal(USCC_CHARSET.length, 31);
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...USCC_CHARSET), { minLength: 17, maxLength: 17 }), (chars) => {
      const first17 = chars.join('');
      const good = `${first17}${usccCheckCharacter(first17)}`;
      const other = USCC_CHARSET[(USCC_CHARSET.indexOf(usccCheckCharacter(first17)!) + 1) % 31];
      return checkCnUscc(good) === undefined && checkCnUscc(`${first17}${other}`) !== undefined;
    }),
  );
});

t.test('Russian INN: 10 or 12 digits', async (t) => {
  t.equal(checkRuInn('7707083893'), undefined);
  t.match(checkRuInn('7707083894'), /does not match/);
  t.equal(checkRuInn('500100732259'), undefined);
  t.match(checkRuInn('500100732258'), /do not match/);
  t.match(checkRuInn('77070838'), /10 or 12 digits/);
});

t.test('HS codes, declaration numbers, dates, decimals', async (t) => {
  t.equal(checkHsCode('8471300000'), undefined);
  t.match(checkHsCode('847130'), /10-digit/);
  t.match(checkHsCode('7701000000'), /chapter 77 does not exist/);
  t.match(checkHsCode('9801000000'), /chapter 98/);
  t.match(checkHsCode('0001000000'), /chapter 00/);

  t.equal(checkDeclarationNumber('55201/150325/0001234'), undefined, 'KZ: 5-digit office');
  t.equal(checkDeclarationNumber('10702020/010224/0012345'), undefined, 'RU: 8-digit office');
  t.equal(checkDeclarationNumber('900120251000045678'), undefined, 'CN: 18 digits');
  t.match(checkDeclarationNumber('55201/310225/0001234'), /310225 is not a date/);
  t.match(checkDeclarationNumber('5520/150325/0001234'), /neither/);
  t.match(checkDeclarationNumber('55201/150325/123'), /neither/);
  t.match(checkDeclarationNumber('900120252000045678'), /neither/, 'CN flag digit is 0 or 1');

  t.equal(checkDate('2024-02-29'), undefined);
  t.match(checkDate('2025-02-29'), /not a calendar date/);
  t.match(checkDate('2025-3-1'), /YYYY-MM-DD/);
  t.equal(parseInstant('2025-03-14T08:30:00Z'), Date.parse('2025-03-14T08:30:00Z'));
  t.equal(parseInstant('2025-03-14T13:30:00+05:00'), Date.parse('2025-03-14T08:30:00Z'));
  t.equal(parseInstant('2025-03-14T08:30:00'), undefined, 'a time without a zone is ambiguous');

  const money = { maxFractionDigits: 2, positive: false };
  for (const ok of ['0', '12', '12.5', '12.50', '999999999999999.99'])
    t.equal(checkDecimal(ok, money), undefined, ok);
  for (const bad of [
    '',
    '-1',
    '+1',
    '1e3',
    '01',
    '1.',
    '.5',
    '1,5',
    '1 000',
    '12.505',
    '1000000000000000',
    'NaN',
  ]) {
    t.not(checkDecimal(bad, money), undefined, JSON.stringify(bad));
  }
  t.match(checkDecimal('0.000', { maxFractionDigits: 3, positive: true }), /greater than zero/);
});

t.test('code lists: ISO 3166-1, ISO 4217 with minor units, UN/ECE Rec. 20', async (t) => {
  for (const c of ['KZ', 'CN', 'RU', 'DE', 'PL', 'BY']) t.ok(isCountryCode(c), c);
  for (const c of ['XX', 'EU', 'UK', 'kz', 'KAZ']) t.notOk(isCountryCode(c), c);
  t.equal(currencyMinorUnits('KZT'), 2);
  t.equal(currencyMinorUnits('CNY'), 2);
  t.equal(currencyMinorUnits('JPY'), 0);
  t.equal(currencyMinorUnits('KWD'), 3);
  for (const c of ['RUR', 'HRK', 'XAU', 'XXX', 'usd', 'EURO']) t.equal(currencyMinorUnits(c), undefined, c);
  for (const u of ['KGM', 'TNE', 'H87', 'C62', 'LTR', 'MTQ', 'MTK', 'PR', 'SET', 'KWH'])
    t.ok(isUnitCode(u), u);
  for (const u of ['KG', 'PCS', 'kgm', 'XBX']) t.notOk(isUnitCode(u), u);
});
