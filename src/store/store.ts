import type Database from 'better-sqlite3';
import { type Clock, systemClock } from '../clock.js';
import { type Logger, silentLogger } from '../log.js';
import { Alerts } from './alerts.js';
import { AuditTrail } from './audit.js';
import type { BackoffOptions } from './backoff.js';
import { ReadCheckpoints } from './checkpoints.js';
import { type OpenDatabaseOptions, openDatabase } from './database.js';
import { ExchangeStats } from './exchange-stats.js';
import { LockEvents } from './lock-events.js';
import { Locks } from './locks.js';
import { Manifests } from './manifests.js';
import { Outages } from './outages.js';
import { Outbox } from './outbox.js';
import { Reads } from './reads.js';
import { ReadRecorder } from './record-read.js';
import { Retention, type RetentionOptions, type RetentionReport } from './retention.js';
import { Revocations } from './revocations.js';
import { SpaceGuard, type SpaceOptions, type StoreAlarm } from './space.js';
import type { DecideVerdict, ReadCheckpoint, ReadToRecord, RecordedRead } from './types.js';

/** The default database of the CLI and `npm start`; the daemon's config names its own. */
export const DEFAULT_DB_PATH = './var/ctop-agent.db';

export interface StoreOptions extends OpenDatabaseOptions {
  /** The database file; created owner-only (0600) when missing. */
  path: string;
  /** Pin the key of a never-seen lock when it proves possession of it. Default false: only provisioned locks are trusted. */
  trustOnFirstUse?: boolean;
  clock?: Clock;
  log?: Logger;
  backoff?: BackoffOptions;
  space?: SpaceOptions;
}

/**
 * The agent's SQLite store: everything read from locks, kept safely and visible offline,
 * and the outbox the sync drains. One connection, synchronous API (better-sqlite3); every
 * method is one transaction.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;
  readonly locks: Locks;
  readonly manifests: Manifests;
  readonly reads: Reads;
  readonly events: LockEvents;
  readonly alerts: Alerts;
  readonly outbox: Outbox;
  readonly outages: Outages;
  readonly exchangeStats: ExchangeStats;
  readonly checkpoints: ReadCheckpoints;
  /** The officers' console's audit trail (schema v2). */
  readonly audit: AuditTrail;
  /** Customs signer revocations applied to manifests stored before they were known. */
  readonly revocations: Revocations;
  readonly #space: SpaceGuard;
  readonly #recorder: ReadRecorder;
  readonly #retention: Retention;
  readonly #clock: Clock;

  constructor(db: Database.Database, options: StoreOptions) {
    const clock = options.clock ?? systemClock;
    const log = (options.log ?? silentLogger).child({ component: 'store' });
    this.db = db;
    this.path = options.path;
    this.#clock = clock;
    this.#space = new SpaceGuard(db, options.path, clock, log, options.space);
    this.locks = new Locks(db);
    this.manifests = new Manifests(db);
    this.reads = new Reads(db);
    this.events = new LockEvents(db);
    this.alerts = new Alerts(db);
    this.outbox = new Outbox(
      db,
      this.#space,
      (manifestIds, at) => this.manifests.markSynced(manifestIds, at),
      options.backoff,
    );
    this.exchangeStats = new ExchangeStats(db, this.#space);
    this.outages = new Outages(db, this.#space, this.exchangeStats);
    this.checkpoints = new ReadCheckpoints(db);
    this.audit = new AuditTrail(db, this.#space);
    this.revocations = new Revocations(db, this.#space, this.alerts, this.outbox);
    this.#retention = new Retention(db, this.#space, log);
    this.#recorder = new ReadRecorder({
      db,
      locks: this.locks,
      manifests: this.manifests,
      reads: this.reads,
      events: this.events,
      alerts: this.alerts,
      outbox: this.outbox,
      checkpoints: this.checkpoints,
      space: this.#space,
      clock,
      log,
      trustOnFirstUse: options.trustOnFirstUse ?? false,
    });
  }

  /**
   * Stores one lock read with its manifest, events, alerts, outbox rows and checkpoint in
   * one transaction, with the verdict `decide` (src/ingest) returns inside it.
   */
  recordRead(input: ReadToRecord, decide: DecideVerdict): RecordedRead {
    return this.#recorder.record(input, decide);
  }

  /**
   * Runs several store calls as one SQLite transaction (BEGIN IMMEDIATE: the write lock is
   * taken first; the store's own transactions nest inside as savepoints). With
   * synchronous=FULL each commit is an fsync, so callers group what belongs together
   * (a claim batch, the receipts that arrived together, a pairing and its read-back).
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * A transaction whose loss in a power cut costs only a resend: committed without waiting
   * for the disk (synchronous=NORMAL for this one commit). The sync's claims and settlements
   * are such: a row whose claim or receipt is lost goes back to the queue at start-up, is
   * sent again under its messageId, and the exchange answers the duplicate with a receipt.
   * A process crash loses nothing (WAL); and the WAL is written in order, so the next
   * ordinary commit (a read stored, an outage recorded) makes this one durable too. Never
   * for what cannot be had again: reads, manifests, outages, the audit trail.
   */
  resendableTransaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.transaction(fn);
    // Not prepared once: SQLite applies `PRAGMA synchronous = …` when compiling the statement,
    // so running a prepared one again changes nothing (test/store/resendable-transaction).
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.transaction(fn);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** The database connection is open (false after close()). */
  get open(): boolean {
    return this.db.open;
  }

  /** Liveness: the database answers a trivial query (throws what SQLite says when it does not). */
  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  saveReadCheckpoint(checkpoint: ReadCheckpoint): void {
    this.#space.run('save read checkpoint', () => this.checkpoints.save(checkpoint, this.#clock.now()));
  }

  loadReadCheckpoint(lockId: string): ReadCheckpoint | undefined {
    return this.#space.run('load read checkpoint', () => this.checkpoints.load(lockId));
  }

  /** `full` while new reads are refused (E_STORE_FULL); stored data and the outbox work on. */
  get alarm(): StoreAlarm {
    return this.#space.alarm;
  }

  /** Re-evaluates the disk-full alarm (the daemon's periodic health check). */
  checkSpace(): StoreAlarm {
    return this.#space.check();
  }

  retention(options?: RetentionOptions): RetentionReport {
    return this.#retention.run(this.#clock.now(), options);
  }

  /** Runs `PRAGMA integrity_check` (slow: reads everything); ['ok'] when sound. */
  integrityCheck(): string[] {
    return (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  }

  close(): void {
    if (!this.db.open) return;
    try {
      // Refreshes the planner's statistics where they drifted (SQLite's advice for long-lived connections).
      this.db.pragma('optimize');
    } catch {
      // A full or read-only disk must not keep the database from closing.
    }
    this.db.close();
  }
}

/**
 * Opens (or creates, owner-only) the store: refuses a group/world-readable file
 * (E_STORE_PERMISSIONS), a corrupt one (E_STORE_CORRUPT), one from a newer agent
 * (E_STORE_VERSION); migrates an older one.
 */
export function openStore(options: StoreOptions): Store {
  const log = (options.log ?? silentLogger).child({ component: 'store' });
  const db = openDatabase(options.path, log, options);
  return new Store(db, options);
}
