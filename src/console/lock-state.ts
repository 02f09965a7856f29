import type { LockReadResult } from '../lock/reader.js';
import type { RecordedRead } from '../store/index.js';
import type { LockState } from './train-feed.js';

/** Alert kinds that make a lock red in the strip: somebody may have been at the container. */
const TAMPER_ALERTS: ReadonlySet<string> = new Set(['clone', 'tamper', 'bad_signature']);

/** Reader errors that say the same before anything was stored. */
const TAMPER_ERRORS: ReadonlySet<string> = new Set([
  'E_LOCK_CLONED',
  'E_LOCK_TAMPER',
  'E_LOCK_HASH',
  'E_LOCK_IMPERSONATION',
]);

export interface LockVerdict {
  state: Extract<LockState, 'read' | 'verified' | 'tamper' | 'failed'>;
  /** Why it is not verified: an error code and message, or an alert. */
  error?: string;
}

/**
 * The strip's verdict on one finished read: what the reader got and what the store made
 * of it (trust of the lock, verification of the manifest, alerts). Shared by every
 * producer of train views so that BLE and serial reads look the same to the officer.
 */
export function lockVerdict(result: LockReadResult, ingest?: RecordedRead): LockVerdict {
  const alert = ingest?.alerts.find((a) => TAMPER_ALERTS.has(a.kind));
  if (alert) return { state: 'tamper', error: `${alert.kind}: ${alert.detail}` };
  if (ingest?.trust === 'clone')
    return { state: 'tamper', error: 'clone: the lock did not prove its pinned identity' };
  if (result.error && TAMPER_ERRORS.has(result.error.code)) {
    return { state: 'tamper', error: `${result.error.code}: ${result.error.message}` };
  }
  if (result.outcome === 'failed') {
    return {
      state: 'failed',
      error: result.error ? `${result.error.code}: ${result.error.message}` : 'read failed',
    };
  }
  const verification = ingest?.manifest?.verification;
  if (ingest?.trust === 'trusted' && verification === 'valid' && result.chainProblems.length === 0) {
    return { state: 'verified' };
  }
  const reasons = [
    ingest === undefined ? 'not stored' : undefined,
    ingest && ingest.trust !== 'trusted' ? `lock ${ingest.trust.replace('_', ' ')}` : undefined,
    verification && verification !== 'valid' ? `manifest ${verification.replace('_', ' ')}` : undefined,
    ingest && !ingest.manifest ? 'no manifest' : undefined,
    ...(ingest?.alerts ?? []).map((a) => `${a.kind}: ${a.detail}`),
  ].filter((r): r is string => r !== undefined);
  return { state: 'read', error: reasons.join('; ') || 'not verified' };
}
