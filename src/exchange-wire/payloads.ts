import { type CborLimits, decodeDeterministic } from '../cbor/index.js';
import { CtopError, isCtopError } from '../errors.js';
import { FieldReader, malformed } from './fields.js';

/**
 * The payloads of EXCHANGE.md §4.3 other than manifests (MANIFEST.md) and outage reports
 * (outage-report.ts), read against their CDDL: the exchange answers a payload that is not
 * valid with `payload_malformed` (§5.2). Fields the CDDL does not name are ignored (§3).
 */

/** Longest text in a payload other than a manifest (EXCHANGE.md §10). */
export const PAYLOAD_MAX_TEXT = 65_536;
const ALERT_KIND_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export interface PairingRecord {
  lockId: string;
  identityKey: Uint8Array;
  container: string;
  wagon: string;
  manifestId: string;
  commitCounter: number;
  sealCounter: number;
  sealEvent: Uint8Array;
  sealedAt: number;
  carrierKid: string;
  gatewayId: string;
}

/** One entry of a lock's event log as on the lock (PROTOCOL.md §7). */
export type LockEventTuple = [number, number, number, Uint8Array, Uint8Array, Uint8Array];

export interface LockEventsPayload {
  lockId: string;
  identityKey: Uint8Array;
  events: LockEventTuple[];
}

export interface AlertPayload {
  alertId: number;
  kind: string;
  detail: string;
  raisedAt: number;
  gatewayId: string;
  readUid?: string;
  lockId?: string;
  manifestId?: string;
}

function decode(bytes: Uint8Array, limits: CborLimits, what: string): FieldReader {
  let value: unknown;
  try {
    value = decodeDeterministic(
      bytes,
      { maxTextBytes: PAYLOAD_MAX_TEXT, maxMapSize: 64, ...limits },
      { malformed: 'E_SYNC_MALFORMED', nonCanonical: 'E_SYNC_MALFORMED', limit: 'E_SYNC_MALFORMED' },
    );
  } catch (err) {
    if (isCtopError(err)) throw new CtopError('E_SYNC_MALFORMED', `${what}: ${err.message}`);
    throw new CtopError('E_SYNC_MALFORMED', `${what}: ${(err as Error).message}`, { cause: err });
  }
  return new FieldReader(value, what);
}

const text = { max: PAYLOAD_MAX_TEXT };

export function decodePairingRecord(bytes: Uint8Array): PairingRecord {
  const r = decode(bytes, { maxDepth: 1, maxArrayLength: 0 }, 'pairing record');
  return {
    lockId: r.text('lockId', text),
    identityKey: r.bytes('identityKey', 32),
    container: r.text('container', text),
    wagon: r.text('wagon', text),
    manifestId: r.text('manifestId', text),
    commitCounter: r.uint('commitCounter'),
    sealCounter: r.uint('sealCounter'),
    sealEvent: r.bytes('sealEvent', 32),
    sealedAt: r.uint('sealedAt'),
    carrierKid: r.text('carrierKid', text),
    gatewayId: r.text('gatewayId', text),
  };
}

export function decodeLockEvents(bytes: Uint8Array): LockEventsPayload {
  const r = decode(bytes, { maxDepth: 3, maxArrayLength: 100_000 }, 'lock events');
  const lockId = r.text('lockId', text);
  const identityKey = r.bytes('identityKey', 32);
  const list = r.array('events', 100_000);
  if (list.length === 0) r.fail('events', 'must not be empty');
  const events = list.map((item, i) => readEvent(item, `lock events: events[${i}]`));
  return { lockId, identityKey, events };
}

function readEvent(item: unknown, what: string): LockEventTuple {
  if (!Array.isArray(item) || item.length !== 6) malformed(what, 'must be an array of 6');
  const [counter, time, kind, detail, prev, sig] = item as unknown[];
  const uint = (v: unknown, name: string): number => {
    const n = typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      malformed(what, `${name} must be a non-negative integer`);
    return n;
  };
  const bytes = (v: unknown, name: string, min: number, max: number): Uint8Array => {
    if (!(v instanceof Uint8Array) || v.byteLength < min || v.byteLength > max) {
      malformed(what, `${name} must be ${min === max ? `${min}` : `${min} to ${max}`} bytes`);
    }
    return v;
  };
  return [
    uint(counter, 'counter'),
    uint(time, 'time'),
    uint(kind, 'kind'),
    bytes(detail, 'detail', 0, 64),
    bytes(prev, 'prev', 32, 32),
    bytes(sig, 'sig', 64, 64),
  ];
}

export function decodeAlert(bytes: Uint8Array): AlertPayload {
  const r = decode(bytes, { maxDepth: 1, maxArrayLength: 0 }, 'alert');
  const readUid = r.optionalText('readUid', text);
  const lockId = r.optionalText('lockId', text);
  const manifestId = r.optionalText('manifestId', text);
  if (r.has('evidence')) r.bytes('evidence');
  r.optionalText('signerKid', text);
  r.optionalUint('revokedAt');
  r.optionalUint('createdAt');
  return {
    alertId: r.uint('alertId'),
    kind: r.text('kind', { max: 32, pattern: ALERT_KIND_PATTERN }),
    detail: r.text('detail', text),
    raisedAt: r.uint('raisedAt'),
    gatewayId: r.text('gatewayId', text),
    ...(readUid === undefined ? {} : { readUid }),
    ...(lockId === undefined ? {} : { lockId }),
    ...(manifestId === undefined ? {} : { manifestId }),
  };
}
