/** Calendar dates are "YYYY-MM-DD" (RFC 3339 full-date); instants are milliseconds since the epoch. */
export function checkDate(value: string): string | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
  if (!m) return `"${value}" is not a date in the form YYYY-MM-DD`;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  const exists = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
  return exists && y >= 1900 ? undefined : `"${value}" is not a calendar date`;
}

/** ISO 8601 date-time with a zone (Z or ±hh:mm), as written in goods files. */
export const INSTANT_PATTERN =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,3})?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

export function parseInstant(value: string): number | undefined {
  if (!INSTANT_PATTERN.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
