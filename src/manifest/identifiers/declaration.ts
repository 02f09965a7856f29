/**
 * Goods declaration registration numbers.
 * - EAEU (Decision No. 257 of the EEC Board): customs office code (5 digits in KZ, BY, KG;
 *   8 in RU, AM) / date of registration ddmmyy / 7-digit serial, e.g. 55201/150325/0001234.
 * - China (报关单号): 18 digits — 4-digit customs code, 4-digit year, 0 import / 1 export,
 *   9-digit serial.
 */
export const EAEU_DECLARATION = /^([0-9]{5}|[0-9]{8})\/([0-9]{2})([0-9]{2})([0-9]{2})\/([0-9]{7})$/;
export const CN_DECLARATION = /^[0-9]{4}(20[0-9]{2})[01][0-9]{9}$/;

function validDate(day: number, month: number, year: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

export function checkDeclarationNumber(value: string): string | undefined {
  const eaeu = EAEU_DECLARATION.exec(value);
  if (eaeu) {
    const [, , dd, mm, yy] = eaeu;
    return validDate(Number(dd), Number(mm), 2000 + Number(yy))
      ? undefined
      : `"${value}": ${dd}${mm}${yy} is not a date (ddmmyy)`;
  }
  if (CN_DECLARATION.test(value)) return undefined;
  return `"${value}" is neither an EAEU declaration number (office/ddmmyy/number) nor an 18-digit China declaration number`;
}
