import type Database from 'better-sqlite3';
import { encodeCanonical } from '../cbor/index.js';
import type { Alerts } from './alerts.js';
import type { Outbox } from './outbox.js';
import type { SpaceGuard } from './space.js';

/** A customs signer key the trust store marks revoked (the store knows no trust store of its own). */
export interface RevokedSigner {
  kid: string;
  /** ms: manifests created at or after it are revoked. */
  revokedAt: number;
  reason?: string;
}

/** A stored manifest that verified valid before its signer's revocation was known here. */
export interface FlaggedManifest {
  manifestId: string;
  signerKid: string;
  lockId?: string;
  createdAt: number;
  /** When it was last verified valid: the history the flag replaces. */
  verifiedAt?: number;
  alertId: number;
}

interface Candidate {
  manifest_id: string;
  lock_id: string | null;
  created_at: number;
  verified_at: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Applies revocations to manifests stored before the revocation reached this gateway. A
 * read after it is flagged at ingest already (the trust store checks revocation at the
 * manifest's createdAt); what was stored earlier still says `valid` until this runs. Only
 * `valid` manifests created at or after revokedAt change: those before it stay valid, and
 * one flagged otherwise (bad signature, expired) keeps the flag it has. Running it again
 * finds nothing left to change, so a second reload raises no second alert.
 */
export class Revocations {
  readonly #db: Database.Database;
  readonly #space: SpaceGuard;
  readonly #alerts: Alerts;
  readonly #outbox: Outbox;
  readonly #candidates: Database.Statement<[string, number], Candidate>;
  readonly #flag: Database.Statement<Record<string, unknown>>;
  readonly #routing: Database.Statement<[string]>;

  constructor(db: Database.Database, space: SpaceGuard, alerts: Alerts, outbox: Outbox) {
    this.#db = db;
    this.#space = space;
    this.#alerts = alerts;
    this.#outbox = outbox;
    this.#candidates = db.prepare(`
      SELECT manifest_id, lock_id, created_at, verified_at FROM manifest
      WHERE signer_kid = ? AND verification = 'valid' AND created_at >= ?
      ORDER BY created_at, manifest_id`);
    this.#flag = db.prepare(`
      UPDATE manifest SET verification = 'revoked', verification_detail = @detail, verified_at = @now
      WHERE manifest_id = @manifestId AND verification = 'valid'`);
    // A manifest not sent yet goes out saying what the gateway now knows, so an exchange
    // that knows the revocation too takes it as evidence instead of rejecting a "valid" one.
    // Rows in flight keep what they were claimed with: their routing is already on the way.
    this.#routing = db.prepare(`
      UPDATE outbox SET routing = json_set(routing, '$.verification', 'revoked')
      WHERE manifest_id = ? AND kind = 'manifest' AND state = 'queued'`);
  }

  /**
   * Flags the affected manifests `revoked`, each with an alert of kind `revoked` queued for
   * the exchange, all in one transaction.
   */
  apply(signers: readonly RevokedSigner[], gatewayId: string, now: number): FlaggedManifest[] {
    if (signers.length === 0) return [];
    return this.#space.run('revocation', () =>
      this.#db
        .transaction(() => {
          const flagged: FlaggedManifest[] = [];
          for (const signer of signers) {
            for (const m of this.#candidates.all(signer.kid, signer.revokedAt)) {
              flagged.push(this.#flagOne(signer, m, gatewayId, now));
            }
          }
          return flagged;
        })
        .immediate(),
    );
  }

  #flagOne(signer: RevokedSigner, m: Candidate, gatewayId: string, now: number): FlaggedManifest {
    const reason = signer.reason ? ` (${signer.reason})` : '';
    const verification = `signed at ${iso(m.created_at)}, key ${signer.kid} revoked at ${iso(signer.revokedAt)}${reason}`;
    const history = m.verified_at === null ? '' : `; verified valid at ${iso(m.verified_at)}`;
    const detail = `manifest ${m.manifest_id.slice(0, 16)}… revoked: ${verification}${history}, before the revocation was known; kept as evidence`;
    this.#flag.run({ manifestId: m.manifest_id, detail: `${verification}${history}`, now });
    this.#routing.run(m.manifest_id);
    const lockId = m.lock_id ?? undefined;
    // Same kind, lock, manifest and subject as ingest's alert for a revoked manifest: a later
    // re-read of the lock counts one more occurrence of this alert instead of a second one.
    const raised = this.#alerts.raise(
      {
        kind: 'revoked',
        ...(lockId === undefined ? {} : { lockId }),
        manifestId: m.manifest_id,
        subject: 'revoked',
        detail,
      },
      undefined,
      now,
    );
    if (raised.new) {
      this.#outbox.insertRow(
        'alert',
        undefined,
        encodeCanonical({
          alertId: raised.alertId,
          kind: 'revoked',
          lockId,
          manifestId: m.manifest_id,
          detail,
          raisedAt: now,
          gatewayId,
          signerKid: signer.kid,
          revokedAt: signer.revokedAt,
          createdAt: m.created_at,
        }),
        {
          alertKind: 'revoked',
          alertId: raised.alertId,
          lockId: lockId ?? null,
          manifestId: m.manifest_id,
          signerKid: signer.kid,
        },
        now,
      );
    }
    return {
      manifestId: m.manifest_id,
      signerKid: signer.kid,
      ...(lockId === undefined ? {} : { lockId }),
      createdAt: m.created_at,
      ...(m.verified_at === null ? {} : { verifiedAt: m.verified_at }),
      alertId: raised.alertId,
    };
  }
}
