import type { ErrorCode } from '../errors.js';
import { checkDecimal, type DecimalRule, decimalFromInput } from './identifiers/index.js';
import type { Issues } from './issues.js';

/**
 * Field readers shared by the routing and body validators. Each reads one field of a
 * record, reports a precise issue and returns undefined when it is wrong, so validation
 * goes on and every problem of a goods file is reported at once.
 */

export type FieldRecord = Record<string, unknown>;

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Control characters would let a manifest rewrite an officer's terminal; bidirectional
 * overrides would let "KZT" display as something else. Neither has a place in customs text.
 */
const FORBIDDEN_TEXT = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

export function asRecord(value: unknown, path: string, issues: Issues): FieldRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return issues.error(path, 'E_MANIFEST_SCHEMA', 'must be an object (a map)');
  }
  return value as FieldRecord;
}

export function checkKeys(
  record: FieldRecord,
  allowed: readonly string[],
  path: string,
  issues: Issues,
): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) issues.error(join(path, key), 'E_MANIFEST_SCHEMA', 'unknown field');
  }
}

function isAbsent(value: unknown, issues: Issues): boolean {
  if (value === undefined) return true;
  // Goods files leave optional cells empty; a manifest on the wire omits the key instead.
  return issues.mode === 'input' && (value === null || (typeof value === 'string' && value.trim() === ''));
}

export interface TextRule {
  required: boolean;
  /** Most characters (code points). */
  max: number;
  pattern?: RegExp;
  /** What the pattern means, for the message. */
  patternHint?: string;
  /** Code for a pattern mismatch; default E_MANIFEST_SCHEMA. */
  code?: ErrorCode;
  /** Input-mode rewrite before checking, e.g. upper-casing a container number. */
  normalise?: (value: string) => string;
}

export function readText(
  record: FieldRecord,
  key: string,
  path: string,
  issues: Issues,
  rule: TextRule,
): string | undefined {
  return textValue(record[key], join(path, key), issues, rule);
}

function textValue(value: unknown, at: string, issues: Issues, rule: TextRule): string | undefined {
  if (isAbsent(value, issues)) {
    return rule.required ? issues.error(at, 'E_MANIFEST_SCHEMA', 'is required') : undefined;
  }
  let raw = value;
  if (issues.mode === 'input' && typeof raw === 'number' && Number.isSafeInteger(raw)) raw = String(raw);
  if (typeof raw !== 'string') return issues.error(at, 'E_MANIFEST_SCHEMA', 'must be a text string');
  let text = raw;
  if (issues.mode === 'input') {
    text = text.trim();
    if (rule.normalise) text = rule.normalise(text);
  } else if (text !== text.trim() || text === '') {
    return issues.error(at, 'E_MANIFEST_SCHEMA', 'must be non-empty without leading or trailing spaces');
  }
  if (FORBIDDEN_TEXT.test(text)) {
    return issues.error(at, 'E_MANIFEST_SCHEMA', 'contains control or bidirectional-override characters');
  }
  const length = [...text].length;
  if (length > rule.max)
    return issues.error(at, 'E_MANIFEST_LIMIT', `is ${length} characters long; at most ${rule.max}`);
  if (rule.pattern && !rule.pattern.test(text)) {
    return issues.error(
      at,
      rule.code ?? 'E_MANIFEST_SCHEMA',
      `"${text}" is not ${rule.patternHint ?? `of the form ${rule.pattern}`}`,
    );
  }
  return text;
}

/** A text field checked by an identifier function (check digits and the like). */
export function readChecked(
  record: FieldRecord,
  key: string,
  path: string,
  issues: Issues,
  rule: TextRule & { check: (value: string) => string | undefined; code: ErrorCode },
): string | undefined {
  const text = readText(record, key, path, issues, { ...rule, pattern: undefined });
  if (text === undefined) return undefined;
  const problem = rule.check(text);
  return problem === undefined ? text : issues.error(join(path, key), rule.code, problem);
}

export function readDecimal(
  record: FieldRecord,
  key: string,
  path: string,
  issues: Issues,
  rule: DecimalRule & { required: boolean; code?: ErrorCode },
): string | undefined {
  const at = join(path, key);
  let value = record[key];
  if (isAbsent(value, issues))
    return rule.required ? issues.error(at, 'E_MANIFEST_SCHEMA', 'is required') : undefined;
  if (issues.mode === 'input') {
    value = decimalFromInput(value);
    if (typeof value === 'string') value = value.trim();
  }
  if (typeof value !== 'string')
    return issues.error(at, 'E_MANIFEST_DECIMAL', 'must be a decimal string such as "12.5"');
  const problem = checkDecimal(value, rule);
  return problem === undefined ? value : issues.error(at, rule.code ?? 'E_MANIFEST_DECIMAL', problem);
}

export function readInteger(
  record: FieldRecord,
  key: string,
  path: string,
  issues: Issues,
  rule: { required: boolean; min: number; max: number },
): number | undefined {
  const at = join(path, key);
  let value = record[key];
  if (isAbsent(value, issues))
    return rule.required ? issues.error(at, 'E_MANIFEST_SCHEMA', 'is required') : undefined;
  if (issues.mode === 'input' && typeof value === 'string' && /^\s*[0-9]{1,15}\s*$/.test(value))
    value = Number(value);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    return issues.error(at, 'E_MANIFEST_SCHEMA', `must be a whole number from ${rule.min} to ${rule.max}`);
  }
  return value;
}

/** Input-only yes/no flags (personal use, postal): true, "true", "yes", "1", "x". */
export function readFlag(record: FieldRecord, key: string, path: string, issues: Issues): boolean {
  const value = record[key];
  if (isAbsent(value, issues) || value === false) return false;
  if (value === true) return true;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', 'yes', 'y', '1', 'x', 'да', 'иә', '是'].includes(v)) return true;
    if (['false', 'no', 'n', '0', 'нет', 'жоқ', '否'].includes(v)) return false;
  }
  if (value === 1) return true;
  if (value === 0) return false;
  issues.error(join(path, key), 'E_MANIFEST_SCHEMA', 'must be true or false');
  return false;
}

/**
 * A list of short texts. Input may give an array or one string separated by ";" (a CSV
 * cell); the wire has a non-empty array or no key.
 */
export function readTextList(
  record: FieldRecord,
  key: string,
  path: string,
  issues: Issues,
  rule: { maxItems: number; item: TextRule },
): string[] | undefined {
  const at = join(path, key);
  let value = record[key];
  if (isAbsent(value, issues)) return undefined;
  if (issues.mode === 'input' && typeof value === 'string')
    value = value.split(';').filter((s) => s.trim() !== '');
  if (!Array.isArray(value)) return issues.error(at, 'E_MANIFEST_SCHEMA', 'must be an array of text strings');
  if (value.length === 0) {
    return issues.mode === 'input'
      ? undefined
      : issues.error(at, 'E_MANIFEST_SCHEMA', 'must be omitted rather than empty');
  }
  if (value.length > rule.maxItems) {
    return issues.error(at, 'E_MANIFEST_LIMIT', `has ${value.length} entries; at most ${rule.maxItems}`);
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    const text = textValue(item, `${at}[${i}]`, issues, { ...rule.item, required: true });
    if (text !== undefined) out.push(text);
  });
  return out.length === value.length ? out : undefined;
}
