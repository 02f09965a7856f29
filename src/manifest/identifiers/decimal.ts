/**
 * Quantities, weights and values travel as decimal strings, never as floats (MANIFEST.md
 * §3.4): "1250.5", "0.125", "42". No sign, exponent, leading zeros or separators; at most
 * 15 integer digits and a per-field number of fraction digits.
 */
const DECIMAL = /^(0|[1-9][0-9]{0,14})(?:\.([0-9]+))?$/;

export interface DecimalRule {
  /** Most digits after the point. */
  maxFractionDigits: number;
  /** True when zero is not a meaningful value (quantities, weights). */
  positive: boolean;
}

export function checkDecimal(value: string, rule: DecimalRule): string | undefined {
  const m = DECIMAL.exec(value);
  if (!m)
    return `"${value}" is not a plain decimal number (digits with an optional point, up to 15 integer digits)`;
  const fraction = m[2] ?? '';
  if (fraction.length > rule.maxFractionDigits) {
    return `"${value}" has ${fraction.length} digits after the point; at most ${rule.maxFractionDigits} allowed`;
  }
  if (rule.positive && /^[0.]+$/.test(value)) return `"${value}" must be greater than zero`;
  return undefined;
}

/**
 * JSON input may give a number; it becomes the shortest decimal string that reads back as
 * the same double. Exponent forms (1e21, 1e-7) are refused by `checkDecimal` afterwards.
 */
export function decimalFromInput(value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
}
