/**
 * Active ISO 4217 currency codes a customs value can be stated in, with their minor-unit
 * digits (the most decimals a value may carry). Funds codes (BOV, CLF, USN, …), precious
 * metals (XAU, …), SDR and test codes are left out: goods are not invoiced in them.
 * Withdrawn codes (RUR, HRK, SLL, …) are refused on purpose.
 */
const TWO_DIGITS =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD ' +
  'CDF CHF CNY COP CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ ' +
  'GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA ' +
  'MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR ' +
  'RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD ' +
  'TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG';
const ZERO_DIGITS = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF';
const THREE_DIGITS = 'BHD IQD JOD KWD LYD OMR TND';

export const ISO_4217_MINOR_UNITS: ReadonlyMap<string, number> = new Map([
  ...TWO_DIGITS.split(' ').map((c) => [c, 2] as const),
  ...ZERO_DIGITS.split(' ').map((c) => [c, 0] as const),
  ...THREE_DIGITS.split(' ').map((c) => [c, 3] as const),
]);

/** Minor-unit digits of an active currency, or undefined for anything else. */
export function currencyMinorUnits(code: string): number | undefined {
  return ISO_4217_MINOR_UNITS.get(code);
}
