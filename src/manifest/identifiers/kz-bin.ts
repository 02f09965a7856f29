/**
 * Kazakhstan BIN (business) and IIN (individual) identification numbers: 12 digits, the
 * last a check digit. First pass: digits 1–11 weighted 1…11, sum modulo 11. If that gives
 * 10, second pass with weights 3,4,…,11,1,2. If that gives 10 too, the number is never
 * issued.
 */
const FIRST = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

export function kzBinCheckDigit(first11: string): number | undefined {
  const digits = [...first11.slice(0, 11)].map(Number);
  const pass = (weights: number[]) => digits.reduce((s, d, i) => s + d * weights[i]!, 0) % 11;
  let check = pass(FIRST);
  if (check === 10) check = pass(SECOND);
  return check === 10 ? undefined : check;
}

export function checkKzBin(value: string): string | undefined {
  if (!/^[0-9]{12}$/.test(value)) return `"${value}" is not a Kazakhstan BIN/IIN (12 digits)`;
  const expected = kzBinCheckDigit(value);
  if (expected === undefined)
    return `"${value}" cannot be a BIN/IIN: its first 11 digits have no valid check digit`;
  const given = Number(value[11]);
  return given === expected
    ? undefined
    : `"${value}": check digit is ${given}, the BIN/IIN checksum gives ${expected}`;
}
