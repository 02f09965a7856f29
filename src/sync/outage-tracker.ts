import { encodeOutageReport } from '../exchange-wire/index.js';
import type { Logger } from '../log.js';
import type { OutageRecord, Store } from '../store/index.js';
import type { OutageCause } from './outage-cause.js';
import { inTransaction } from './store-tx.js';

export interface OutageTrackerOptions {
  store: Store;
  /** The gateway's address, written into every report. */
  from: string;
  /** A broken path shorter than this is not recorded. */
  graceMs: number;
  /** Monotonic milliseconds, for the grace: the wall clock may be stepped during a cut. */
  monotonic: () => number;
  log: Logger;
  onStart: (outage: OutageRecord) => void;
  onEnd: (outage: OutageRecord) => void;
}

/**
 * Decides when the path to the exchange is broken and when it works again, and keeps the
 * store's outage records (traceability agreement Art. 11).
 *
 * - The path breaks at the first failure after it last worked: a lost connection, a failed
 *   connection attempt (with its cause: DNS, unreachable, TLS, refused, timeouts) or, while
 *   connected, messages waiting without any receipt (no_receipts). The period is recorded
 *   once it has lasted `graceMs`, from its real start and with its first cause.
 * - The path works again when a valid receipt arrives, or when connected with nothing
 *   waiting. A connection-level outage ends when the connection that proved to work was
 *   made; a no_receipts outage when the receipt came.
 * - Closing an outage and queueing its report to the exchange are one transaction: an
 *   outage is never closed without its report on the way.
 * - A wall clock stepped while the outage lasted (NTP or GPS correcting a clock that was
 *   wrong, most often at boot) would give it a length of nothing or of the step. Its length is
 *   taken from the monotonic clock instead, and it is dated by the wall clock in force at its
 *   end — the corrected one — so the start is moved by the step.
 */
export class OutageTracker {
  readonly #o: OutageTrackerOptions;
  /** When the current broken period began, if the path is broken (wall clock, for the record). */
  #brokenSince: number | undefined;
  /** The same instant on the monotonic clock, for the grace. */
  #brokenMono: number | undefined;
  #cause: OutageCause | undefined;
  #detail = '';
  /** When the present connection was made (undefined while disconnected). */
  #connectedAt: number | undefined;
  /** The same instant on the monotonic clock. */
  #connectedMono = 0;
  /** The open outage record (also one a previous run left open). */
  #open: OutageRecord | undefined;
  /** Monotonic instant of the open outage's start; unknown for one a previous run left open. */
  #openMono: number | undefined;

  constructor(options: OutageTrackerOptions) {
    this.#o = options;
  }

  get current(): OutageRecord | undefined {
    return this.#open;
  }

  /**
   * How long the open outage has lasted at wall time `now`: on the monotonic clock when its
   * start is known there (a wall clock stepped meanwhile does not count), else by the wall clock.
   */
  currentLengthMs(now: number): number | undefined {
    if (!this.#open) return undefined;
    if (this.#openMono !== undefined) return Math.round(Math.max(0, this.#o.monotonic() - this.#openMono));
    return Math.max(0, now - this.#open.startedAt);
  }

  /** The path is not known to work (a broken period or an open outage). */
  get broken(): boolean {
    return this.#brokenSince !== undefined || this.#open !== undefined;
  }

  /** Adopts an outage a previous run left open, and reports closed ones it left unreported. */
  start(now: number): void {
    this.#open = this.#o.store.outages.current();
    if (this.#open) {
      this.#brokenSince = this.#open.startedAt;
      this.#cause = this.#open.cause as OutageCause;
      this.#detail = this.#open.detail ?? '';
    } else {
      // Nothing is known to work until a connection proves it; the cause comes with the first failure.
      this.#brokenSince = now;
      this.#brokenMono = this.#o.monotonic();
    }
    for (const outage of this.#o.store.outages.unreported()) this.#report(outage, now);
  }

  /** The connection went down or an attempt failed. */
  failed(cause: OutageCause, detail: string, at: number): void {
    this.#connectedAt = undefined;
    this.#markBroken(cause, detail, at);
  }

  connected(at: number): void {
    this.#connectedAt = at;
    this.#connectedMono = this.#o.monotonic();
  }

  /**
   * Connected, but the oldest message waiting for a receipt was sent at `since` and no
   * receipt came after it.
   */
  unanswered(since: number, detail: string, now: number): void {
    this.#markBroken('no_receipts', detail, since, now);
  }

  /** The path is proven to work at `at` (a valid receipt, or connected with nothing to send). */
  working(at: number): void {
    if (this.#connectedAt === undefined) return;
    if (this.#brokenSince === undefined && !this.#open) return;
    const open = this.#open;
    this.#brokenSince = undefined;
    this.#brokenMono = undefined;
    this.#cause = undefined;
    if (!open) return;
    const [endAt, endMono] =
      open.cause === 'no_receipts' ? [at, this.#o.monotonic()] : [this.#connectedAt, this.#connectedMono];
    const startedAt = this.#redatedStart(open, endAt, endMono);
    let closed: OutageRecord | undefined;
    inTransaction(this.#o.store, () => {
      closed = this.#o.store.outages.close(Math.max(endAt, startedAt ?? open.startedAt), startedAt);
      if (closed) this.#report(closed, at);
    });
    this.#open = undefined;
    this.#openMono = undefined;
    if (closed) {
      this.#o.log.warn(
        { outageId: closed.id, cause: closed.cause, startedAt: closed.startedAt, endedAt: closed.endedAt },
        `exchange path back after ${Math.round((closed.endedAt! - closed.startedAt) / 1000)} s (${closed.cause}); outage reported`,
      );
      this.#o.onEnd(closed);
    }
  }

  /** Opens the outage record once a broken period has lasted the grace time. */
  tick(): void {
    if (this.#open || this.#brokenSince === undefined || this.#cause === undefined) return;
    if (this.#o.monotonic() - (this.#brokenMono ?? this.#o.monotonic()) < this.#o.graceMs) return;
    this.#open = this.#o.store.outages.open(this.#cause, this.#brokenSince, this.#detail || undefined);
    this.#openMono = this.#brokenMono;
    this.#o.log.warn(
      {
        outageId: this.#open.id,
        cause: this.#open.cause,
        detail: this.#open.detail,
        startedAt: this.#open.startedAt,
      },
      `no working path to the exchange since ${new Date(this.#open.startedAt).toISOString()} (${this.#open.cause})`,
    );
    this.#o.onStart(this.#open);
  }

  /**
   * The start of `open` by the wall clock in force at its end, when the wall clock was stepped
   * while it lasted (its wall-clock length differs from its monotonic one by more than a clock
   * slews: 2 s, or 0.1 % of the length); undefined when it was not.
   */
  #redatedStart(open: OutageRecord, endAt: number, endMono: number): number | undefined {
    if (this.#openMono === undefined) return undefined;
    // Whole milliseconds: the store keeps integers, the monotonic clock has fractions.
    const lengthMs = Math.round(Math.max(0, endMono - this.#openMono));
    const stepMs = endAt - open.startedAt - lengthMs;
    if (Math.abs(stepMs) <= Math.max(2000, lengthMs / 1000)) return undefined;
    this.#o.log.warn(
      { outageId: open.id, stepMs: Math.round(stepMs), lengthMs },
      `the wall clock was stepped by ${Math.round(stepMs / 1000)} s during outage ${open.id}: ` +
        'it is dated by the clock in force at its end, its length taken from the monotonic clock ' +
        "(if this recurs, check the gateway's time synchronisation: timedatectl, chronyc tracking)",
    );
    return endAt - lengthMs;
  }

  /** `at` is when it broke, `now` the wall time it was learnt (the gap is carried to the monotonic clock). */
  #markBroken(cause: OutageCause, detail: string, at: number, now = at): void {
    if (this.#cause !== undefined) return;
    if (this.#brokenSince === undefined) {
      this.#brokenSince = at;
      this.#brokenMono = this.#o.monotonic() - Math.max(0, now - at);
    }
    this.#cause = cause;
    this.#detail = detail;
  }

  /** Queues the report and marks the outage reported, inside the caller's transaction or its own. */
  #report(outage: OutageRecord, now: number): void {
    const { store, from } = this.#o;
    inTransaction(store, () => {
      const payload = encodeOutageReport({
        outageId: outage.id,
        gateway: from,
        startedAt: outage.startedAt,
        endedAt: outage.endedAt!,
        cause: outage.cause,
        ...(outage.detail === undefined ? {} : { detail: outage.detail }),
      });
      store.outbox.enqueue(
        'outage',
        payload,
        { outageId: outage.id, cause: outage.cause, startedAt: outage.startedAt, endedAt: outage.endedAt! },
        now,
      );
      store.outages.markReported(outage.id, now);
    });
  }
}
