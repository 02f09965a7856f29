/**
 * Commodity codes: the 10-digit EAEU CN FEA (ТН ВЭД ЕАЭС) code, whose first six digits are
 * the Harmonized System; China's tariff code has the same 10-digit length. Chapters run
 * 01–97 and chapter 77 is reserved.
 */
export function checkHsCode(value: string): string | undefined {
  if (!/^[0-9]{10}$/.test(value)) return `"${value}" is not a 10-digit commodity code`;
  const chapter = Number(value.slice(0, 2));
  if (chapter < 1 || chapter > 97 || chapter === 77)
    return `"${value}": chapter ${value.slice(0, 2)} does not exist`;
  return undefined;
}
