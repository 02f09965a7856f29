import { LOCK_ID_PATTERN } from '../lock/codec/constants.js';
import { isCountryCode } from './codes/countries.js';
import {
  asRecord,
  checkKeys,
  type FieldRecord,
  join,
  readChecked,
  readText,
  readTextList,
} from './fields.js';
import {
  checkContainerNumber,
  checkWagonNumber,
  normaliseContainerNumber,
  parseInstant,
} from './identifiers/index.js';
import type { Issues } from './issues.js';
import type { ManifestRouting } from './types.js';

export const ROUTING_KEYS = [
  'lockId',
  'container',
  'wagon',
  'train',
  'departure',
  'destination',
  'departureCountry',
  'destinationCountry',
  'transitCountries',
  'createdAt',
  'issuingAuthority',
] as const;

/** The lock id as the lock announces it in HELLO (PROTOCOL.md): one definition for both. */
export { LOCK_ID_PATTERN };
export const STATION_PATTERN = /^[A-Z0-9][A-Z0-9._:-]{0,19}$/;

/** The parties to the CTOP Protocol: goods leave one for (or through) the other. */
const CTOP_PARTIES = ['KZ', 'CN'];

/** 2000-01-01: an earlier creation time is a unit mistake (seconds for milliseconds). */
const EARLIEST_CREATED_AT = 946_684_800_000;

export function readCountry(record: FieldRecord, key: string, path: string, issues: Issues, required = true) {
  return readChecked(record, key, path, issues, {
    required,
    max: 2,
    code: 'E_MANIFEST_COUNTRY',
    check: (v) => (isCountryCode(v) ? undefined : `"${v}" is not an ISO 3166-1 alpha-2 country code`),
  });
}

function readCreatedAt(record: FieldRecord, path: string, issues: Issues, now: number): number | undefined {
  const at = join(path, 'createdAt');
  const value = record.createdAt;
  if (issues.mode === 'input') {
    if (value === undefined || value === null || value === '') return now;
    if (typeof value === 'string') {
      const ms = parseInstant(value.trim());
      if (ms === undefined) {
        return issues.error(
          at,
          'E_MANIFEST_DATE',
          `"${value}" is not an ISO 8601 time with a zone, e.g. 2025-03-14T08:30:00Z`,
        );
      }
      return ms;
    }
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < EARLIEST_CREATED_AT) {
    return issues.error(
      at,
      'E_MANIFEST_DATE',
      'must be milliseconds since 1970-01-01 UTC, after the year 2000',
    );
  }
  return value;
}

/** Validates the clear routing fields; `now` fills a missing createdAt in input mode. */
export function validateRouting(
  value: unknown,
  path: string,
  issues: Issues,
  now: number,
): ManifestRouting | undefined {
  const r = asRecord(value, path, issues);
  if (!r) return undefined;
  if (issues.mode === 'wire') checkKeys(r, ROUTING_KEYS, path, issues);
  const input = issues.mode === 'input';
  const lockId = readText(r, 'lockId', path, issues, {
    required: true,
    max: 16,
    pattern: LOCK_ID_PATTERN,
    patternHint: 'a lock id (1–16 of A–Z 0–9 -)',
  });
  const container = readChecked(r, 'container', path, issues, {
    required: true,
    max: 20,
    code: 'E_MANIFEST_CONTAINER',
    check: checkContainerNumber,
    ...(input ? { normalise: normaliseContainerNumber } : {}),
  });
  const wagonText = readText(r, 'wagon', path, issues, {
    required: true,
    max: 20,
    ...(input ? { normalise: (v: string) => v.toUpperCase() } : {}),
  });
  let wagon: string | undefined;
  if (wagonText !== undefined) {
    const check = checkWagonNumber(wagonText);
    if (check.error) issues.error(join(path, 'wagon'), 'E_MANIFEST_WAGON', check.error);
    else wagon = wagonText;
    if (check.warning) issues.warn(join(path, 'wagon'), 'E_MANIFEST_WAGON', check.warning);
  }
  const train = readText(r, 'train', path, issues, {
    required: true,
    max: 32,
    pattern: /^[\p{L}\p{N}][\p{L}\p{N} ./-]*$/u,
    patternHint: 'a train number (letters, digits, space . / -)',
  });
  const station = {
    required: true,
    max: 20,
    pattern: STATION_PATTERN,
    patternHint: 'a station code (A–Z 0–9 . _ : -)',
  };
  const departure = readText(r, 'departure', path, issues, station);
  const destination = readText(r, 'destination', path, issues, station);
  const departureCountry = readCountry(r, 'departureCountry', path, issues);
  const destinationCountry = readCountry(r, 'destinationCountry', path, issues);
  const transitCountries = readTextList(r, 'transitCountries', path, issues, {
    maxItems: 12,
    item: { required: true, max: 2 },
  });
  transitCountries?.forEach((c, i) => {
    if (!isCountryCode(c)) {
      issues.error(
        `${join(path, 'transitCountries')}[${i}]`,
        'E_MANIFEST_COUNTRY',
        `"${c}" is not an ISO 3166-1 alpha-2 country code`,
      );
    } else if (transitCountries.indexOf(c) !== i) {
      issues.error(`${join(path, 'transitCountries')}[${i}]`, 'E_MANIFEST_SCHEMA', `"${c}" is listed twice`);
    }
  });
  const createdAt = readCreatedAt(r, path, issues, now);
  const issuingAuthority = readText(r, 'issuingAuthority', path, issues, { required: true, max: 200 });

  if (departureCountry && destinationCountry) {
    const route = [departureCountry, ...(transitCountries ?? []), destinationCountry];
    const inScope =
      CTOP_PARTIES.includes(departureCountry) &&
      route.slice(1).some((c) => CTOP_PARTIES.includes(c) && c !== departureCountry);
    if (!inScope) {
      issues.warn(
        join(path, 'departureCountry'),
        'E_MANIFEST_COUNTRY',
        `route ${route.join('→')} is outside the CTOP Protocol (goods leaving KZ or CN for or through the other)`,
      );
    }
  }
  if (
    lockId === undefined ||
    container === undefined ||
    wagon === undefined ||
    train === undefined ||
    departure === undefined ||
    destination === undefined ||
    departureCountry === undefined ||
    destinationCountry === undefined ||
    createdAt === undefined ||
    issuingAuthority === undefined ||
    (r.transitCountries !== undefined && transitCountries === undefined && !input)
  ) {
    return undefined;
  }
  return {
    lockId,
    container,
    wagon,
    train,
    departure,
    destination,
    departureCountry,
    destinationCountry,
    ...(transitCountries && transitCountries.length > 0 ? { transitCountries } : {}),
    createdAt,
    issuingAuthority,
  };
}
