/**
 * Russian taxpayer number (ИНН): 10 digits for organisations (one check digit), 12 for
 * individuals (two). Each check digit is a weighted sum modulo 11, then modulo 10.
 */
const W10 = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const W11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const W12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

function digit(value: string, weights: number[]): number {
  return (weights.reduce((s, w, i) => s + w * Number(value[i]), 0) % 11) % 10;
}

export function checkRuInn(value: string): string | undefined {
  if (/^[0-9]{10}$/.test(value)) {
    return digit(value, W10) === Number(value[9]) ? undefined : `"${value}": INN check digit does not match`;
  }
  if (/^[0-9]{12}$/.test(value)) {
    return digit(value, W11) === Number(value[10]) && digit(value, W12) === Number(value[11])
      ? undefined
      : `"${value}": INN check digits do not match`;
  }
  return `"${value}" is not a Russian INN (10 or 12 digits)`;
}
