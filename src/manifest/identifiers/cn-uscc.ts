/**
 * China unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from the
 * 31-character set 0–9 A–Y without I, O, S, V, Z. The last is a check character: the first
 * 17 values weighted 3^i mod 31, C18 = 31 − (sum mod 31), with 31 written as 0.
 */
export const USCC_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function usccCheckCharacter(first17: string): string | undefined {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_CHARSET.indexOf(first17[i] ?? '');
    if (v < 0) return undefined;
    sum += v * WEIGHTS[i]!;
  }
  return USCC_CHARSET[(31 - (sum % 31)) % 31];
}

export function checkCnUscc(value: string): string | undefined {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(value)) {
    return `"${value}" is not a unified social credit code (18 characters of 0–9 and A–Y without I, O, S, V, Z)`;
  }
  const expected = usccCheckCharacter(value);
  return value[17] === expected
    ? undefined
    : `"${value}": check character is ${value[17]}, GB 32100 gives ${expected}`;
}
