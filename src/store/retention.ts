import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SpaceGuard } from './space.js';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Days after the exchange's acknowledgement that payload bytes are kept. Default 90. */
  payloadDays?: number;
  /**
   * Days hashes, routing fields, reads and receipts are kept: the traceability period
   * (EAEU traceability agreement: 5 years). Default 1827 (five years and a leap day).
   */
  traceabilityDays?: number;
  /** Free pages handed back to the filesystem per run; default all. */
  vacuumPages?: number;
}

export interface RetentionReport {
  manifestPayloadsPurged: number;
  outboxPayloadsPurged: number;
  outboxRowsExpired: number;
  manifestsExpired: number;
  readsExpired: number;
  alertsExpired: number;
  outagesExpired: number;
  pagesFreed: number;
}

/**
 * Retention: what the exchange acknowledged long enough ago loses its payload bytes;
 * what is older than the traceability period goes entirely. Only acknowledged data is
 * ever touched — the schema's triggers refuse anything else — and lock events stay, so a
 * re-read lock is never mistaken for new events.
 */
export class Retention {
  readonly #db: Database.Database;
  readonly #space: SpaceGuard;
  readonly #log: Logger;
  readonly #tx: (
    now: number,
    payloadCutoff: number,
    traceCutoff: number,
  ) => Omit<RetentionReport, 'pagesFreed'>;
  readonly #freePages: Database.Statement<[], number>;

  constructor(db: Database.Database, space: SpaceGuard, log: Logger) {
    this.#db = db;
    this.#space = space;
    this.#log = log;
    this.#freePages = db.prepare<[], number>('PRAGMA freelist_count').pluck();
    const markManifests = db.prepare(`
      UPDATE manifest SET payload_purged_at = @now
      WHERE payload_purged_at IS NULL AND synced_at IS NOT NULL AND synced_at < @payloadCutoff
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.manifest_id = manifest.manifest_id AND o.state <> 'acknowledged')`);
    const purgeManifests = db.prepare(`
      DELETE FROM manifest_payload WHERE manifest_id IN (SELECT manifest_id FROM manifest WHERE payload_purged_at IS NOT NULL)`);
    const purgeOutbox = db.prepare(`
      UPDATE outbox SET payload = NULL, payload_purged_at = @now
      WHERE state = 'acknowledged' AND payload IS NOT NULL AND receipt_at < @payloadCutoff`);
    // A seal serves the sends before the receipt; acknowledged, the row needs it no more.
    const dropSeals = db.prepare(`DELETE FROM outbox_seal
      WHERE outbox_id IN (SELECT outbox_id FROM outbox WHERE state = 'acknowledged')`);
    const expireOutbox = db.prepare(
      `DELETE FROM outbox WHERE state = 'acknowledged' AND receipt_at < @traceCutoff`,
    );
    // A receipt goes with the last row it settled (a requeued row lets go of its rejection's too).
    const expireReceipts = db.prepare(
      `DELETE FROM receipt WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.receipt_id = receipt.receipt_id)`,
    );
    const expiringManifests = `SELECT manifest_id FROM manifest m
      WHERE m.synced_at IS NOT NULL AND m.synced_at < @traceCutoff AND m.received_at < @traceCutoff
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.manifest_id = m.manifest_id)`;
    const expireManifestPayloads = db.prepare(
      `DELETE FROM manifest_payload WHERE manifest_id IN (${expiringManifests})`,
    );
    const expireManifests = db.prepare(`DELETE FROM manifest WHERE manifest_id IN (${expiringManifests})`);
    // A read stays while what it produced is still on its way (its manifest, events or alerts).
    const expireReads = db.prepare(`
      DELETE FROM lock_read WHERE ingested_at < @traceCutoff
        AND (manifest_id IS NULL OR (SELECT synced_at FROM manifest m WHERE m.manifest_id = lock_read.manifest_id) IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.state <> 'acknowledged'
                          AND json_extract(o.routing, '$.readUid') = lock_read.read_uid)`);
    const expireAlerts = db.prepare(`
      DELETE FROM alert WHERE last_seen_at < @traceCutoff
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'alert' AND o.state <> 'acknowledged'
                          AND json_extract(o.routing, '$.alertId') = alert.alert_id)`);
    const expireOutages = db.prepare(
      `DELETE FROM outage WHERE reported_at IS NOT NULL AND ended_at < @traceCutoff`,
    );
    this.#tx = db.transaction((now: number, payloadCutoff: number, traceCutoff: number) => {
      const manifestPayloadsPurged = markManifests.run({ now, payloadCutoff }).changes;
      purgeManifests.run();
      const outboxPayloadsPurged = purgeOutbox.run({ now, payloadCutoff }).changes;
      dropSeals.run();
      const outboxRowsExpired = expireOutbox.run({ traceCutoff }).changes;
      expireReceipts.run();
      expireManifestPayloads.run({ traceCutoff });
      const manifestsExpired = expireManifests.run({ traceCutoff }).changes;
      const readsExpired = expireReads.run({ traceCutoff }).changes;
      const alertsExpired = expireAlerts.run({ traceCutoff }).changes;
      const outagesExpired = expireOutages.run({ traceCutoff }).changes;
      return {
        manifestPayloadsPurged,
        outboxPayloadsPurged,
        outboxRowsExpired,
        manifestsExpired,
        readsExpired,
        alertsExpired,
        outagesExpired,
      };
    }).immediate;
  }

  run(now: number, options: RetentionOptions = {}): RetentionReport {
    const payloadDays = options.payloadDays ?? 90;
    const traceabilityDays = options.traceabilityDays ?? 1827;
    if (!(payloadDays >= 0) || !(traceabilityDays >= payloadDays)) {
      throw new CtopError(
        'E_STORE_INPUT',
        'retention: payloadDays must be ≥ 0 and traceabilityDays ≥ payloadDays',
      );
    }
    const counts = this.#space.run('retention', () =>
      this.#tx(now, now - payloadDays * DAY_MS, now - traceabilityDays * DAY_MS),
    );
    // Hands the freed pages back to the filesystem: a gateway's disk is small.
    const before = this.#freePages.get()!;
    this.#space.run('incremental vacuum', () =>
      this.#db.pragma(
        options.vacuumPages === undefined
          ? 'incremental_vacuum'
          : `incremental_vacuum(${Math.floor(options.vacuumPages)})`,
      ),
    );
    const report = { ...counts, pagesFreed: before - this.#freePages.get()! };
    this.#log.info(report, 'retention run');
    return report;
  }
}
