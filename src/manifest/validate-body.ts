import { currencyMinorUnits } from './codes/currencies.js';
import { isUnitCode } from './codes/units.js';
import {
  asRecord,
  checkKeys,
  type FieldRecord,
  join,
  readChecked,
  readDecimal,
  readFlag,
  readInteger,
  readText,
  readTextList,
} from './fields.js';
import {
  checkCnUscc,
  checkDate,
  checkDeclarationNumber,
  checkHsCode,
  checkKzBin,
  checkRuInn,
} from './identifiers/index.js';
import type { Issues } from './issues.js';
import type { ManifestLimits } from './limits.js';
import type { GoodsBody, GoodsLine, Party, TransportDocument } from './types.js';
import { readCountry } from './validate-routing.js';

export const BODY_KEYS = ['consignor', 'consignee', 'document', 'deliveryPlace', 'goods'] as const;
const PARTY_KEYS = ['name', 'address', 'country', 'id'] as const;
const DOCUMENT_KEYS = ['type', 'number', 'date'] as const;
const LINE_KEYS = [
  'line',
  'name',
  'hs',
  'quantity',
  'unit',
  'supplementaryQuantity',
  'supplementaryUnit',
  'grossWeightKg',
  'value',
  'currency',
  'origin',
  'declarationNumber',
  'declarationItem',
  'ids',
] as const;
/** Only goods files carry these, and only to be refused (CTOP Protocol Art. 2). */
export const EXCLUSION_FLAGS = ['personalUse', 'postal'] as const;

/** Party identifiers are checked by the scheme of the party's country (Art. 8 p. 3 sub. 2, 4). */
const ID_CHECKS: Record<
  string,
  {
    check: (v: string) => string | undefined;
    code: 'E_MANIFEST_KZ_BIN' | 'E_MANIFEST_CN_USCC' | 'E_MANIFEST_RU_INN';
  }
> = {
  KZ: { check: checkKzBin, code: 'E_MANIFEST_KZ_BIN' },
  CN: { check: checkCnUscc, code: 'E_MANIFEST_CN_USCC' },
  RU: { check: checkRuInn, code: 'E_MANIFEST_RU_INN' },
};
const OTHER_ID = /^[A-Z0-9][A-Z0-9/-]{0,34}$/;

function validateParty(value: unknown, path: string, issues: Issues): Party | undefined {
  const p = asRecord(value, path, issues);
  if (!p) return undefined;
  checkKeys(p, PARTY_KEYS, path, issues);
  const name = readText(p, 'name', path, issues, { required: true, max: 300 });
  const address = readText(p, 'address', path, issues, { required: true, max: 500 });
  const country = readCountry(p, 'country', path, issues);
  const scheme = country === undefined ? undefined : ID_CHECKS[country];
  const id = scheme
    ? readChecked(p, 'id', path, issues, { required: true, max: 18, ...scheme })
    : readText(p, 'id', path, issues, {
        required: true,
        max: 35,
        pattern: OTHER_ID,
        patternHint: 'an identification number (A–Z 0–9 / -, at most 35)',
      });
  if (name === undefined || address === undefined || country === undefined || id === undefined)
    return undefined;
  return { name, address, country, id };
}

function validateDocument(value: unknown, path: string, issues: Issues): TransportDocument | undefined {
  const d = asRecord(value, path, issues);
  if (!d) return undefined;
  checkKeys(d, DOCUMENT_KEYS, path, issues);
  const type = readText(d, 'type', path, issues, { required: true, max: 50 });
  const number = readText(d, 'number', path, issues, { required: true, max: 50 });
  const date = readChecked(d, 'date', path, issues, {
    required: true,
    max: 10,
    check: checkDate,
    code: 'E_MANIFEST_DATE',
  });
  if (type === undefined || number === undefined || date === undefined) return undefined;
  return { type, number, date };
}

function readUnit(record: FieldRecord, key: string, path: string, issues: Issues, required: boolean) {
  return readChecked(record, key, path, issues, {
    required,
    max: 3,
    code: 'E_MANIFEST_UNIT',
    check: (v) => (isUnitCode(v) ? undefined : `"${v}" is not a UN/ECE Rec. 20 unit code`),
  });
}

/** Both of a pair, or neither. */
function pairMissing(record: FieldRecord, a: string, b: string, path: string, issues: Issues): boolean {
  const has = (k: string) => record[k] !== undefined && record[k] !== null && record[k] !== '';
  if (has(a) === has(b)) return false;
  issues.error(
    join(path, has(a) ? b : a),
    'E_MANIFEST_SCHEMA',
    `is required together with ${has(a) ? a : b}`,
  );
  return true;
}

function validateLine(
  value: unknown,
  index: number,
  path: string,
  issues: Issues,
  limits: ManifestLimits,
): GoodsLine | undefined {
  const l = asRecord(value, path, issues);
  if (!l) return undefined;
  const input = issues.mode === 'input';
  checkKeys(l, input ? [...LINE_KEYS, ...EXCLUSION_FLAGS] : LINE_KEYS, path, issues);
  const errorsBefore = issues.errors.length;
  if (input) {
    if (readFlag(l, 'personalUse', path, issues)) {
      issues.error(
        join(path, 'personalUse'),
        'E_MANIFEST_EXCLUDED',
        'goods for personal use are not exchanged (CTOP Protocol Art. 2)',
      );
    }
    if (readFlag(l, 'postal', path, issues)) {
      issues.error(
        join(path, 'postal'),
        'E_MANIFEST_EXCLUDED',
        'international postal items are not exchanged (CTOP Protocol Art. 2)',
      );
    }
  }
  const line =
    input && (l.line === undefined || l.line === '' || l.line === null)
      ? index + 1
      : readInteger(l, 'line', path, issues, { required: true, min: 1, max: 999_999 });
  const name = readText(l, 'name', path, issues, { required: true, max: 500 });
  const hs = readChecked(l, 'hs', path, issues, {
    required: true,
    max: 10,
    code: 'E_MANIFEST_HS_CODE',
    check: checkHsCode,
    ...(input ? { normalise: (v: string) => v.replace(/[\s.]/g, '') } : {}),
  });
  const quantity = readDecimal(l, 'quantity', path, issues, {
    required: true,
    maxFractionDigits: 6,
    positive: true,
  });
  const unit = readUnit(l, 'unit', path, issues, true);
  pairMissing(l, 'supplementaryQuantity', 'supplementaryUnit', path, issues);
  const supplementaryQuantity = readDecimal(l, 'supplementaryQuantity', path, issues, {
    required: false,
    maxFractionDigits: 6,
    positive: true,
  });
  const supplementaryUnit = readUnit(l, 'supplementaryUnit', path, issues, false);
  const grossWeightKg = readDecimal(l, 'grossWeightKg', path, issues, {
    required: true,
    maxFractionDigits: 3,
    positive: true,
  });
  const currency = readChecked(l, 'currency', path, issues, {
    required: true,
    max: 3,
    code: 'E_MANIFEST_CURRENCY',
    check: (v) =>
      currencyMinorUnits(v) === undefined ? `"${v}" is not an active ISO 4217 currency code` : undefined,
  });
  const minor = currency === undefined ? 4 : currencyMinorUnits(currency)!;
  const value_ = readDecimal(l, 'value', path, issues, {
    required: true,
    maxFractionDigits: minor,
    positive: false,
    ...(currency === undefined ? {} : { code: 'E_MANIFEST_CURRENCY' as const }),
  });
  const origin = readCountry(l, 'origin', path, issues);
  pairMissing(l, 'declarationNumber', 'declarationItem', path, issues);
  const declarationNumber = readChecked(l, 'declarationNumber', path, issues, {
    required: false,
    max: 24,
    code: 'E_MANIFEST_DECLARATION',
    check: checkDeclarationNumber,
  });
  const declarationItem = readInteger(l, 'declarationItem', path, issues, {
    required: false,
    min: 1,
    max: 9999,
  });
  const ids = readTextList(l, 'ids', path, issues, {
    maxItems: limits.maxIdsPerLine,
    item: {
      required: true,
      max: 64,
      pattern: /^[\x21-\x7e]+$/,
      patternHint: 'an identification number (printable ASCII, no spaces)',
    },
  });
  if (issues.errors.length > errorsBefore) return undefined;
  return {
    line: line!,
    name: name!,
    hs: hs!,
    quantity: quantity!,
    unit: unit!,
    ...(supplementaryQuantity === undefined
      ? {}
      : { supplementaryQuantity, supplementaryUnit: supplementaryUnit! }),
    grossWeightKg: grossWeightKg!,
    value: value_!,
    currency: currency!,
    origin: origin!,
    ...(declarationNumber === undefined ? {} : { declarationNumber, declarationItem: declarationItem! }),
    ...(ids && ids.length > 0 ? { ids } : {}),
  };
}

/** Validates the goods body (what is encrypted). */
export function validateBody(
  value: unknown,
  path: string,
  issues: Issues,
  limits: ManifestLimits,
): GoodsBody | undefined {
  const b = asRecord(value, path, issues);
  if (!b) return undefined;
  if (issues.mode === 'wire') checkKeys(b, BODY_KEYS, path, issues);
  const errorsBefore = issues.errors.length;
  const consignor =
    b.consignor === undefined
      ? issues.error(join(path, 'consignor'), 'E_MANIFEST_SCHEMA', 'is required')
      : validateParty(b.consignor, join(path, 'consignor'), issues);
  const consignee =
    b.consignee === undefined
      ? issues.error(join(path, 'consignee'), 'E_MANIFEST_SCHEMA', 'is required')
      : validateParty(b.consignee, join(path, 'consignee'), issues);
  const document =
    b.document === undefined
      ? issues.error(join(path, 'document'), 'E_MANIFEST_SCHEMA', 'is required')
      : validateDocument(b.document, join(path, 'document'), issues);
  const deliveryPlace = readText(b, 'deliveryPlace', path, issues, { required: false, max: 300 });
  const goodsPath = join(path, 'goods');
  const goods: GoodsLine[] = [];
  if (!Array.isArray(b.goods)) {
    issues.error(goodsPath, 'E_MANIFEST_SCHEMA', 'must be a list of goods lines');
  } else if (b.goods.length === 0) {
    issues.error(goodsPath, 'E_MANIFEST_SCHEMA', 'must have at least one goods line');
  } else if (b.goods.length > limits.maxGoodsLines) {
    issues.error(
      goodsPath,
      'E_MANIFEST_LIMIT',
      `has ${b.goods.length} lines; at most ${limits.maxGoodsLines}`,
    );
  } else {
    b.goods.forEach((entry, i) => {
      const line = validateLine(entry, i, `${goodsPath}[${i}]`, issues, limits);
      if (line) goods.push(line);
    });
    // Only when every line is valid do the indexes of `goods` match those of the input.
    for (let i = 1; goods.length === b.goods.length && i < goods.length; i++) {
      if (goods[i]!.line <= goods[i - 1]!.line) {
        issues.error(
          `${goodsPath}[${i}].line`,
          'E_MANIFEST_SCHEMA',
          `line ${goods[i]!.line} does not follow line ${goods[i - 1]!.line}: numbers must ascend`,
        );
        break;
      }
    }
  }
  if (issues.errors.length > errorsBefore || !consignor || !consignee || !document) return undefined;
  return { consignor, consignee, document, ...(deliveryPlace === undefined ? {} : { deliveryPlace }), goods };
}
