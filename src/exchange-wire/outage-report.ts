import { decodeDeterministic, encodeCanonical } from '../cbor/index.js';
import { CtopError, isCtopError } from '../errors.js';
import { ADDRESS_PATTERN } from './address.js';
import { FieldReader } from './fields.js';

/**
 * The payload of an `outage` message (EXCHANGE.md §4.3): a period in which the gateway had
 * no working path to the exchange, reported once the path is back (traceability agreement
 * Art. 11: the authorities are informed of the malfunction). Deterministic CBOR of the
 * stored record, so a report made twice is the same message.
 */
export interface OutageReport {
  /** The gateway's own id of the outage (its database row). */
  outageId: number;
  /** The reporting gateway's address. */
  gateway: string;
  startedAt: number;
  endedAt: number;
  /** broker_unreachable, dns, tls, no_receipts, … (EXCHANGE.md §4.3). */
  cause: string;
  detail?: string;
}

export const OUTAGE_CAUSE_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export function encodeOutageReport(report: OutageReport): Buffer {
  return encodeCanonical(report);
}

export function decodeOutageReport(bytes: Uint8Array): OutageReport {
  let value: unknown;
  try {
    value = decodeDeterministic(
      bytes,
      { maxDepth: 1, maxMapSize: 16, maxTextBytes: 1024, maxByteStringBytes: 0 },
      {
        malformed: 'E_SYNC_MALFORMED',
        nonCanonical: 'E_SYNC_MALFORMED',
        limit: 'E_SYNC_MALFORMED',
      },
    );
  } catch (err) {
    if (isCtopError(err)) throw err;
    throw new CtopError('E_SYNC_MALFORMED', `outage report: ${(err as Error).message}`, { cause: err });
  }
  const r = new FieldReader(value, 'outage report');
  const detail = r.optionalText('detail', { max: 1000 });
  const report: OutageReport = {
    outageId: r.uint('outageId'),
    gateway: r.text('gateway', { max: 256, pattern: ADDRESS_PATTERN }),
    startedAt: r.uint('startedAt'),
    endedAt: r.uint('endedAt'),
    cause: r.text('cause', { max: 32, pattern: OUTAGE_CAUSE_PATTERN }),
    ...(detail === undefined ? {} : { detail }),
  };
  if (report.endedAt < report.startedAt) r.fail('endedAt', 'is before startedAt');
  return report;
}
