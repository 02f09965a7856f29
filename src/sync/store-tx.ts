import type { ExchangeDelta, ExchangeStats, Store } from '../store/index.js';
import { utcDay } from '../store/index.js';

/**
 * Runs several store calls as one durable transaction (Store.transaction): with
 * synchronous=FULL each commit is an fsync, so what belongs together (an outage closed and
 * its report queued) is one. The sync's bookkeeping uses `transactWithStats` below.
 */
export function inTransaction<T>(store: Store, fn: () => T): T {
  return store.transaction(fn);
}

/**
 * Exchange statistics (CTOP Art. 5) added up in memory and written inside the next
 * transaction the sync runs anyway, instead of one commit per counted message.
 */
export class StatsBuffer {
  readonly #days = new Map<string, { at: number; delta: Required<ExchangeDelta> }>();

  /** The UTC day last counted in, to name it without formatting a date per message. */
  #day = { start: 0, end: 0, key: '' };

  add(at: number, delta: ExchangeDelta): void {
    const day = this.#dayOf(at);
    let entry = this.#days.get(day);
    if (!entry) {
      entry = {
        at,
        delta: {
          messagesSent: 0,
          receiptsAccepted: 0,
          receiptsRejected: 0,
          resends: 0,
          outageSeconds: 0,
          bytesSent: 0,
        },
      };
      this.#days.set(day, entry);
    }
    for (const key in delta)
      entry.delta[key as keyof ExchangeDelta] += delta[key as keyof ExchangeDelta] ?? 0;
  }

  #dayOf(at: number): string {
    const d = this.#day;
    if (at >= d.start && at < d.end) return d.key;
    // A UTC day is 86,400,000 ms of JavaScript time (no leap seconds).
    const start = Math.floor(at / 86_400_000) * 86_400_000;
    this.#day = { start, end: start + 86_400_000, key: utcDay(at) };
    return this.#day.key;
  }

  get empty(): boolean {
    return this.#days.size === 0;
  }

  /** Hands the counters over for writing; `restore` them when the transaction failed. */
  take(): TakenStats {
    const taken = [...this.#days.values()];
    this.#days.clear();
    return taken;
  }

  restore(taken: TakenStats): void {
    for (const e of taken) this.add(e.at, e.delta);
  }
}

export type TakenStats = { at: number; delta: Required<ExchangeDelta> }[];

/** Writes taken counters; call inside the transaction that should carry them. */
export function recordStats(stats: ExchangeStats, taken: TakenStats): void {
  for (const e of taken) stats.record(e.at, e.delta);
}

/**
 * One transaction of the sync's own bookkeeping (a claim, settled receipts, retries) that
 * also writes the counters gathered so far (kept for later if it fails). Resendable
 * (Store.resendableTransaction): a power cut can undo it, which costs a resend the exchange
 * answers as a duplicate — and the counters of those last seconds, a daily statistic's
 * rounding, not a message. The drain's commits no longer wait for the disk, which held the
 * event loop ~8 ms per commit while a train was being read.
 */
export function transactWithStats<T>(store: Store, buffer: StatsBuffer, fn: () => T): T {
  const taken = buffer.take();
  try {
    return store.resendableTransaction(() => {
      recordStats(store.exchangeStats, taken);
      return fn();
    });
  } catch (err) {
    buffer.restore(taken);
    throw err;
  }
}
