import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { AlertInput, RaisedAlert } from './types.js';

/** Kinds the store raises itself; callers may add their own lower-case tokens. */
export const STORE_ALERT_KINDS = [
  /** The lock presented another identity key than the pinned one, or failed AUTH. */
  'clone',
  /** No key is pinned for the lock and trust on first use is off. */
  'unknown_lock',
  /** The event log is broken (gap, reorder, altered entry, bad signature) or a counter changed, or the manifest is not the lock's. */
  'tamper',
  /** Manifest verification outcomes other than valid. */
  'bad_signature',
  'unknown_signer',
  'expired',
  'revoked',
  'malformed',
  /** A read ended by the replay bound of PROTOCOL.md §9.2 (replayed or stray answers). */
  'lock_protocol',
] as const;

const KIND_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export interface AlertRecord {
  alertId: number;
  fingerprint: string;
  kind: string;
  lockId?: string;
  manifestId?: string;
  subject: string;
  detail: string;
  evidence?: Buffer;
  firstReadId?: number;
  lastReadId?: number;
  raisedAt: number;
  lastSeenAt: number;
  occurrences: number;
}

interface AlertRow {
  alert_id: number;
  fingerprint: string;
  kind: string;
  lock_id: string | null;
  manifest_id: string | null;
  subject: string;
  detail: string;
  evidence: Buffer | null;
  first_read_id: number | null;
  last_read_id: number | null;
  raised_at: number;
  last_seen_at: number;
  occurrences: number;
}

function fromRow(r: AlertRow): AlertRecord {
  return {
    alertId: r.alert_id,
    fingerprint: r.fingerprint,
    kind: r.kind,
    lockId: r.lock_id ?? undefined,
    manifestId: r.manifest_id ?? undefined,
    subject: r.subject,
    detail: r.detail,
    evidence: r.evidence ?? undefined,
    firstReadId: r.first_read_id ?? undefined,
    lastReadId: r.last_read_id ?? undefined,
    raisedAt: r.raised_at,
    lastSeenAt: r.last_seen_at,
    occurrences: r.occurrences,
  };
}

/** One incident, however often the lock is read again: kind, lock, manifest and subject. */
export function alertFingerprint(a: AlertInput): string {
  return createHash('sha256')
    .update(JSON.stringify([a.kind, a.lockId ?? '', a.manifestId ?? '', a.subject ?? a.detail]))
    .digest('hex');
}

/**
 * Alerts for the officer and the exchange: clones, tampering, manifests that do not
 * verify. Deduplicated by fingerprint so re-reading a suspect lock counts occurrences
 * instead of flooding the exchange.
 */
export class Alerts {
  readonly #byFingerprint: Database.Statement<[string], AlertRow>;
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #repeat: Database.Statement<{ id: number; now: number; readId: number | null }>;
  readonly #forLock: Database.Statement<[string], AlertRow>;
  readonly #forManifest: Database.Statement<[string], AlertRow>;
  readonly #since: Database.Statement<[number], AlertRow>;

  constructor(db: Database.Database) {
    this.#byFingerprint = db.prepare('SELECT * FROM alert WHERE fingerprint = ?');
    this.#insert = db.prepare(`
      INSERT INTO alert (fingerprint, kind, lock_id, manifest_id, subject, detail, evidence, first_read_id,
        last_read_id, raised_at, last_seen_at)
      VALUES (@fingerprint, @kind, @lockId, @manifestId, @subject, @detail, @evidence, @readId, @readId, @now, @now)`);
    this.#repeat = db.prepare(`
      UPDATE alert SET occurrences = occurrences + 1, last_seen_at = max(last_seen_at, @now),
        last_read_id = coalesce(@readId, last_read_id)
      WHERE alert_id = @id`);
    this.#forLock = db.prepare('SELECT * FROM alert WHERE lock_id = ? ORDER BY raised_at, alert_id');
    this.#forManifest = db.prepare('SELECT * FROM alert WHERE manifest_id = ? ORDER BY raised_at, alert_id');
    this.#since = db.prepare('SELECT * FROM alert WHERE raised_at >= ? ORDER BY raised_at, alert_id');
  }

  /** Records an alert, or one more occurrence of the same one. The lock and manifest must be stored. */
  raise(input: AlertInput, readId: number | undefined, now: number): RaisedAlert {
    if (!KIND_PATTERN.test(input.kind))
      throw new CtopError('E_STORE_INPUT', `alert kind "${input.kind}" is not a token`);
    const fingerprint = alertFingerprint(input);
    const existing = this.#byFingerprint.get(fingerprint);
    const base = {
      kind: input.kind,
      detail: input.detail,
      ...(input.lockId === undefined ? {} : { lockId: input.lockId }),
      ...(input.manifestId === undefined ? {} : { manifestId: input.manifestId }),
    };
    if (existing) {
      this.#repeat.run({ id: existing.alert_id, now, readId: readId ?? null });
      return { alertId: existing.alert_id, ...base, new: false };
    }
    const info = this.#insert.run({
      fingerprint,
      kind: input.kind,
      lockId: input.lockId ?? null,
      manifestId: input.manifestId ?? null,
      subject: input.subject ?? input.detail,
      detail: input.detail,
      evidence: input.evidence ?? null,
      readId: readId ?? null,
      now,
    });
    return { alertId: Number(info.lastInsertRowid), ...base, new: true };
  }

  get(fingerprint: string): AlertRecord | undefined {
    const row = this.#byFingerprint.get(fingerprint);
    return row ? fromRow(row) : undefined;
  }

  forLock(lockId: string): AlertRecord[] {
    return this.#forLock.all(lockId).map(fromRow);
  }

  forManifest(manifestId: string): AlertRecord[] {
    return this.#forManifest.all(manifestId).map(fromRow);
  }

  raisedSince(since: number): AlertRecord[] {
    return this.#since.all(since).map(fromRow);
  }
}
