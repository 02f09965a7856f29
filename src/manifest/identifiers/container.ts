/**
 * ISO 6346 freight container numbers: owner code (3 letters), equipment category (U, J or
 * Z), 6-digit serial number and a check digit. The check digit is the weighted sum of the
 * first ten characters (letters valued 10–38 skipping multiples of 11, weights 2^0…2^9)
 * modulo 11, with 10 written as 0.
 */
const LETTER_VALUES: Readonly<Record<string, number>> = (() => {
  const values: Record<string, number> = {};
  let v = 10;
  for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') {
    if (v % 11 === 0) v++;
    values[letter] = v++;
  }
  return values;
})();

export const CONTAINER_PATTERN = /^[A-Z]{3}[UJZ][0-9]{7}$/;

export function containerCheckDigit(first10: string): number {
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const c = first10[i]!;
    const value = i < 4 ? LETTER_VALUES[c]! : Number(c);
    sum += value * 2 ** i;
  }
  return (sum % 11) % 10;
}

/** Undefined when valid, otherwise why not. */
export function checkContainerNumber(value: string): string | undefined {
  if (!CONTAINER_PATTERN.test(value)) {
    return `"${value}" is not an ISO 6346 container number (3-letter owner code, U/J/Z, 6 digits, check digit)`;
  }
  const expected = containerCheckDigit(value);
  const given = Number(value[10]);
  return given === expected ? undefined : `"${value}": check digit is ${given}, ISO 6346 gives ${expected}`;
}

/** Input may be written as on the door, "CSQU 305438 3"; the manifest carries "CSQU3054383". */
export function normaliseContainerNumber(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase();
}
