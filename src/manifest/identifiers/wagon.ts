/**
 * Wagon numbers of the 1520 mm network (KZ, RU, …): 8 digits, the last a check digit by the
 * Luhn scheme — digits 1–7 weighted 2,1,2,1,…, the digits of the products summed, the check
 * digit completing the sum to a multiple of 10. Wagons of other gauges (Chinese standard
 * gauge, UIC 12-digit) change bogies or transship at the border and are numbered
 * differently: accepted with a warning, their check digit not verified here.
 */
export const WAGON_1520_PATTERN = /^[0-9]{8}$/;
export const WAGON_OTHER_PATTERN = /^[A-Z0-9][A-Z0-9 -]{0,19}$/;

export function wagonCheckDigit(first7: string): number {
  let sum = 0;
  for (let i = 0; i < 7; i++) {
    const product = Number(first7[i]) * (i % 2 === 0 ? 2 : 1);
    sum += product > 9 ? product - 9 : product;
  }
  return (10 - (sum % 10)) % 10;
}

export interface WagonCheck {
  /** Why the number is refused. */
  error?: string;
  /** Why the number is accepted without its check digit being verified. */
  warning?: string;
}

export function checkWagonNumber(value: string): WagonCheck {
  if (WAGON_1520_PATTERN.test(value)) {
    const expected = wagonCheckDigit(value);
    const given = Number(value[7]);
    return given === expected
      ? {}
      : { error: `"${value}": check digit is ${given}, the 1520-gauge scheme gives ${expected}` };
  }
  if (WAGON_OTHER_PATTERN.test(value)) {
    return {
      warning: `"${value}" is not an 8-digit 1520-gauge wagon number; accepted without a check-digit test`,
    };
  }
  return {
    error: `"${value}" is not a wagon number (8 digits on the 1520 network, or up to 20 of A–Z 0–9 space -)`,
  };
}
