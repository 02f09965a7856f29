/**
 * How long a lock of the passing train stays in range, learnt from the locks that have left
 * it: from first heard to last heard. One train passes one antenna at one speed, so its locks
 * dwell about alike, and a lock first heard `age` ago has about `dwell − age` left. A standing
 * train teaches nothing (no lock leaves), nor does a new train: the estimate starts empty.
 * Last-heard times are taken while listening only, so a dwell is never overestimated.
 */
export class DwellEstimate {
  readonly #recent: RecentMedian;

  /** Known from `minSamples` departures on; the median of the last `window`. */
  constructor(options: { minSamples?: number; window?: number } = {}) {
    this.#recent = new RecentMedian(options.window ?? 16, options.minSamples ?? 3);
  }

  /** A lock left range after `dwellMs` in it. */
  add(dwellMs: number): void {
    this.#recent.add(dwellMs);
  }

  /** A departure taken back: the lock was heard again, so it had not left after `dwellMs`. */
  withdraw(dwellMs: number): void {
    this.#recent.remove(dwellMs);
  }

  /** The median dwell of the recent departures; undefined before enough of them. */
  get dwellMs(): number | undefined {
    return this.#recent.median;
  }

  /** Time left in range for a lock first heard `ageMs` ago (negative: overdue); undefined when unknown. */
  timeLeftMs(ageMs: number): number | undefined {
    const dwell = this.dwellMs;
    return dwell === undefined ? undefined : dwell - ageMs;
  }

  reset(): void {
    this.#recent.reset();
  }
}

/** The median of the last `window` durations (ms), known from `minSamples` of them on. */
export class RecentMedian {
  readonly #samples: number[] = [];

  constructor(
    readonly window: number,
    readonly minSamples = 3,
  ) {}

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#samples.push(ms);
    if (this.#samples.length > this.window) this.#samples.shift();
  }

  /** Takes back the latest sample equal to `ms`, if still in the window. */
  remove(ms: number): void {
    const i = this.#samples.lastIndexOf(ms);
    if (i >= 0) this.#samples.splice(i, 1);
  }

  get median(): number | undefined {
    if (this.#samples.length < this.minSamples) return undefined;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }

  reset(): void {
    this.#samples.length = 0;
  }
}
