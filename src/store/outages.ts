import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import { type ExchangeStats, utcDay } from './exchange-stats.js';
import type { SpaceGuard } from './space.js';

/**
 * A period the exchange could not be reached. Recorded with its cause and reported to the
 * exchange after reconnection (traceability agreement Art. 11).
 */
export interface OutageRecord {
  id: number;
  startedAt: number;
  endedAt?: number;
  /** A token such as broker_unreachable, dns, tls, power_loss. */
  cause: string;
  detail?: string;
  reportedAt?: number;
}

interface OutageRow {
  outage_id: number;
  started_at: number;
  ended_at: number | null;
  cause: string;
  detail: string | null;
  reported_at: number | null;
}

function fromRow(r: OutageRow): OutageRecord {
  return {
    id: r.outage_id,
    startedAt: r.started_at,
    endedAt: r.ended_at ?? undefined,
    cause: r.cause,
    detail: r.detail ?? undefined,
    reportedAt: r.reported_at ?? undefined,
  };
}

const DAY_MS = 86_400_000;

/** Seconds of [start, end) falling on each UTC day. */
export function splitByDay(start: number, end: number): Map<string, number> {
  const out = new Map<string, number>();
  let t = start;
  while (t < end) {
    const dayEnd = (Math.floor(t / DAY_MS) + 1) * DAY_MS;
    const until = Math.min(end, dayEnd);
    out.set(utcDay(t), (out.get(utcDay(t)) ?? 0) + (until - t));
    t = until;
  }
  for (const [day, ms] of out) out.set(day, Math.round(ms / 1000));
  return out;
}

/** At most one outage is open at a time; closing it adds its seconds to the daily statistics. */
export class Outages {
  readonly #space: SpaceGuard;
  readonly #stats: ExchangeStats;
  readonly #current: Database.Statement<[], OutageRow>;
  readonly #get: Database.Statement<[number], OutageRow>;
  readonly #open: Database.Statement<[number, string, string | null]>;
  readonly #close: Database.Statement<[number, number]>;
  readonly #unreported: Database.Statement<[], OutageRow>;
  readonly #reported: Database.Statement<[number, number]>;
  readonly #since: Database.Statement<[number], OutageRow>;
  readonly #redate: Database.Statement<[number, number]>;
  readonly #closeTx: (at: number, startedAt?: number) => OutageRecord | undefined;

  constructor(db: Database.Database, space: SpaceGuard, stats: ExchangeStats) {
    this.#space = space;
    this.#stats = stats;
    this.#current = db.prepare('SELECT * FROM outage WHERE ended_at IS NULL');
    this.#get = db.prepare('SELECT * FROM outage WHERE outage_id = ?');
    this.#open = db.prepare('INSERT INTO outage (started_at, cause, detail) VALUES (?, ?, ?)');
    this.#close = db.prepare('UPDATE outage SET ended_at = max(?, started_at) WHERE outage_id = ?');
    this.#redate = db.prepare('UPDATE outage SET started_at = ? WHERE outage_id = ?');
    this.#unreported = db.prepare(
      'SELECT * FROM outage WHERE ended_at IS NOT NULL AND reported_at IS NULL ORDER BY started_at',
    );
    this.#reported = db.prepare(
      'UPDATE outage SET reported_at = ? WHERE outage_id = ? AND ended_at IS NOT NULL',
    );
    this.#since = db.prepare(
      'SELECT * FROM outage WHERE coalesce(ended_at, started_at) >= ? ORDER BY started_at',
    );
    this.#closeTx = db.transaction((at: number, startedAt?: number) => {
      const open = this.#current.get();
      if (!open) return undefined;
      if (startedAt !== undefined) this.#redate.run(startedAt, open.outage_id);
      this.#close.run(at, open.outage_id);
      const closed = fromRow(this.#get.get(open.outage_id)!);
      for (const [day, seconds] of splitByDay(closed.startedAt, closed.endedAt!)) {
        this.#stats.record(Date.parse(`${day}T00:00:00Z`), { outageSeconds: seconds });
      }
      return closed;
    }).immediate;
  }

  /** Opens an outage, or returns the one already open (an outage has one start). */
  open(cause: string, at: number, detail?: string): OutageRecord {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(cause))
      throw new CtopError('E_STORE_INPUT', `outage cause "${cause}" is not a token`);
    return this.#space.run('outage open', () => {
      const open = this.#current.get();
      if (open) return fromRow(open);
      const id = Number(this.#open.run(at, cause, detail?.slice(0, 1000) ?? null).lastInsertRowid);
      return fromRow(this.#get.get(id)!);
    });
  }

  current(): OutageRecord | undefined {
    const row = this.#current.get();
    return row ? fromRow(row) : undefined;
  }

  /**
   * Ends the open outage; undefined when none is open. `startedAt`, when given, re-dates its
   * start (the wall clock was stepped while it lasted: see OutageTracker).
   */
  close(at: number, startedAt?: number): OutageRecord | undefined {
    return this.#space.run('outage close', () => this.#closeTx(at, startedAt));
  }

  /** Closed outages the exchange has not been told about, oldest first. */
  unreported(): OutageRecord[] {
    return this.#unreported.all().map(fromRow);
  }

  markReported(id: number, at: number): void {
    this.#space.run('outage reported', () => {
      if (this.#reported.run(at, id).changes === 1) return;
      if (!this.#get.get(id)) throw new CtopError('E_STORE_NOT_FOUND', `no outage ${id}`);
      throw new CtopError('E_STORE_INPUT', `outage ${id} is still open; it is reported once closed`);
    });
  }

  /** Outages still open or ended at or after `since`. */
  list(since = 0): OutageRecord[] {
    return this.#since.all(since).map(fromRow);
  }
}
