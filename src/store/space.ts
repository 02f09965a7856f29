import { statfsSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';
import { toStoreError } from './sqlite-errors.js';

export interface SpaceOptions {
  /**
   * Database pages kept free for the sync's bookkeeping (receipts, retries, outage rows)
   * when ingest is refused, so that a full store keeps draining its backlog. Default 1024
   * (4 MiB with 4 KiB pages). Applies against `PRAGMA max_page_count`.
   */
  reservePages?: number;
  /** Ingest is refused when the filesystem of the database has less free space. Default 64 MiB. */
  minFreeBytes?: number;
  /**
   * Refuse an ingest that would eat into the reserves before trying it. Default true; false
   * leaves it to SQLite's own SQLITE_FULL (which also raises the alarm and rolls back).
   */
  preflight?: boolean;
  /** Called whenever the alarm is raised or cleared (the daemon's health endpoint, a metric). */
  onAlarmChange?: (alarm: StoreAlarm) => void;
}

/** `full`: new lock reads are refused (E_STORE_FULL); stored data, reads and sync continue. */
export type StoreAlarm = { state: 'ok' } | { state: 'full'; since: number; reason: string };

/**
 * Watches the room left for new lock reads and keeps the store's alarm state. Ingest asks
 * before each transaction; every statement's SQLITE_FULL also raises the alarm. The alarm
 * clears by itself at the first ingest that finds room again.
 */
export class SpaceGuard {
  readonly #dir: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #reservePages: number;
  readonly #minFreeBytes: number;
  readonly #onChange: ((alarm: StoreAlarm) => void) | undefined;
  readonly #preflight: boolean;
  readonly #pageSize: number;
  readonly #pages: Database.Statement<[], number>;
  readonly #maxPages: Database.Statement<[], number>;
  readonly #freePages: Database.Statement<[], number>;
  #alarm: StoreAlarm = { state: 'ok' };

  constructor(db: Database.Database, file: string, clock: Clock, log: Logger, options: SpaceOptions = {}) {
    this.#dir = path.dirname(path.resolve(file));
    this.#clock = clock;
    this.#log = log;
    this.#reservePages = options.reservePages ?? 1024;
    this.#minFreeBytes = options.minFreeBytes ?? 64 * 1024 * 1024;
    this.#onChange = options.onAlarmChange;
    this.#preflight = options.preflight ?? true;
    this.#pageSize = db.pragma('page_size', { simple: true }) as number;
    this.#pages = db.prepare<[], number>('PRAGMA page_count').pluck();
    this.#maxPages = db.prepare<[], number>('PRAGMA max_page_count').pluck();
    this.#freePages = db.prepare<[], number>('PRAGMA freelist_count').pluck();
  }

  get alarm(): StoreAlarm {
    return this.#alarm;
  }

  /** Why an ingest of about `bytes` would not fit, or undefined when it fits. */
  shortage(bytes: number): string | undefined {
    const maxPages = this.#maxPages.get()!;
    const pages = this.#pages.get()!;
    const freePages = this.#freePages.get()!;
    // The bytes, their B-tree pages, index entries and the read row: twice the payload in pages is ample.
    const needed = 2 * Math.ceil(bytes / this.#pageSize) + 16;
    if (maxPages - pages + freePages - needed < this.#reservePages) {
      return `database page limit: ${pages - freePages} of ${maxPages} pages used, ${this.#reservePages} kept in reserve`;
    }
    // WAL first, then the checkpoint into the database: a commit briefly needs its bytes twice.
    const fs = statfsSync(this.#dir);
    const available = fs.bavail * fs.bsize;
    if (available - 3 * bytes < this.#minFreeBytes) {
      return `filesystem of ${this.#dir}: ${Math.floor(available / 1048576)} MiB free, ${Math.floor(this.#minFreeBytes / 1048576)} MiB kept in reserve`;
    }
    return undefined;
  }

  /** Throws E_STORE_FULL (raising the alarm) when an ingest of about `bytes` does not fit; clears the alarm when it does. */
  assertRoomForIngest(bytes: number): void {
    if (!this.#preflight) return;
    const reason = this.shortage(bytes);
    if (reason !== undefined) {
      this.raise(reason);
      throw new CtopError('E_STORE_FULL', `lock read not stored: ${reason}`, { details: { reason } });
    }
    this.clear();
  }

  /** Re-evaluates the alarm without storing anything (the daemon's periodic health check). */
  check(): StoreAlarm {
    const reason = this.shortage(0);
    if (reason === undefined) this.clear();
    else this.raise(reason);
    return this.#alarm;
  }

  /** Runs a store operation; SQLite errors become typed errors and SQLITE_FULL raises the alarm. */
  run<T>(what: string, operation: () => T): T {
    try {
      return operation();
    } catch (err) {
      throw this.fail(err, what);
    }
  }

  fail(err: unknown, what: string): CtopError {
    const e = toStoreError(err, what);
    if (e.code === 'E_STORE_FULL') this.raise(`SQLite reported the database full during ${what}`);
    return e;
  }

  raise(reason: string): void {
    if (this.#alarm.state === 'full') return;
    this.#alarm = { state: 'full', since: this.#clock.now(), reason };
    this.#log.error(
      { code: 'E_STORE_FULL', reason },
      'store full: new lock reads are refused until space returns',
    );
    this.#onChange?.(this.#alarm);
  }

  clear(): void {
    if (this.#alarm.state === 'ok') return;
    const since = this.#alarm.since;
    this.#alarm = { state: 'ok' };
    this.#log.warn({ fullForMs: this.#clock.now() - since }, 'store has room again: ingest resumed');
    this.#onChange?.(this.#alarm);
  }
}
