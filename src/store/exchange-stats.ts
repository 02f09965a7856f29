import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { SpaceGuard } from './space.js';

/** Per UTC day figures for the periodic evaluation of the exchange (CTOP Protocol Art. 5). */
export interface ExchangeDay {
  /** YYYY-MM-DD, UTC. */
  day: string;
  messagesSent: number;
  receiptsAccepted: number;
  receiptsRejected: number;
  /** Publishes of a message that was published before (same messageId). */
  resends: number;
  outageSeconds: number;
  bytesSent: number;
}

export type ExchangeDelta = Partial<Omit<ExchangeDay, 'day'>>;

const COLUMNS = {
  messagesSent: 'messages_sent',
  receiptsAccepted: 'receipts_accepted',
  receiptsRejected: 'receipts_rejected',
  resends: 'resends',
  outageSeconds: 'outage_seconds',
  bytesSent: 'bytes_sent',
} as const satisfies Record<keyof ExchangeDelta, string>;

interface DayRow {
  day: string;
  messages_sent: number;
  receipts_accepted: number;
  receipts_rejected: number;
  resends: number;
  outage_seconds: number;
  bytes_sent: number;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Counters the sync adds to as it works; one row per UTC day. */
export class ExchangeStats {
  readonly #space: SpaceGuard;
  readonly #add: Database.Statement<Record<string, number | string>>;
  readonly #list: Database.Statement<[string, string], DayRow>;

  constructor(db: Database.Database, space: SpaceGuard) {
    this.#space = space;
    const names = Object.values(COLUMNS);
    this.#add = db.prepare(`
      INSERT INTO exchange_day (day, ${names.join(', ')}) VALUES (@day, ${names.map((n) => `@${n}`).join(', ')})
      ON CONFLICT (day) DO UPDATE SET ${names.map((n) => `${n} = ${n} + excluded.${n}`).join(', ')}`);
    this.#list = db.prepare('SELECT * FROM exchange_day WHERE day >= ? AND day <= ? ORDER BY day');
  }

  /** Adds to the counters of the UTC day of `at`. */
  record(at: number, delta: ExchangeDelta): void {
    const params: Record<string, number | string> = { day: utcDay(at) };
    for (const [key, column] of Object.entries(COLUMNS) as [keyof ExchangeDelta, string][]) {
      const value = delta[key] ?? 0;
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new CtopError('E_STORE_INPUT', `exchange statistics: ${key} must be a non-negative integer`);
      }
      params[column] = value;
    }
    this.#space.run('exchange statistics', () => this.#add.run(params));
  }

  /** Days from `from` to `to` inclusive (YYYY-MM-DD); default everything. */
  list(from = '0000-00-00', to = '9999-99-99'): ExchangeDay[] {
    return this.#list.all(from, to).map((r) => ({
      day: r.day,
      messagesSent: r.messages_sent,
      receiptsAccepted: r.receipts_accepted,
      receiptsRejected: r.receipts_rejected,
      resends: r.resends,
      outageSeconds: r.outage_seconds,
      bytesSent: r.bytes_sent,
    }));
  }
}
