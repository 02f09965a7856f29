import type { Clock } from '../../clock.js';

export interface SimClockOptions {
  /** Simulated seconds per wall second. Default 1. */
  timeScale?: number;
  /** Epoch milliseconds `now()` reports at simulated time zero. Default: the wall time at construction. */
  epochMs?: number;
}

/**
 * Simulated time for the radio world: it runs `timeScale` times faster than the wall clock,
 * from zero at construction, so a 20-minute train can pass in two wall minutes. It is a
 * `Clock` (src/clock.ts): code that should think in simulated seconds — timeouts of a
 * transport under test, a benchmark reporting "simulated seconds" — takes this clock.
 *
 * Timers are wall timers of duration simMs ÷ timeScale; Node's timers are about 1 ms
 * coarse, so everything driven by this clock works in batches (the link layer catches up
 * on all connection events that fell due) rather than one timer per radio event.
 */
export class SimClock implements Clock {
  readonly timeScale: number;
  readonly #epochMs: number;
  readonly #wallStart: number;

  constructor(options: SimClockOptions = {}) {
    const { timeScale = 1 } = options;
    if (!(timeScale > 0) || !Number.isFinite(timeScale))
      throw new TypeError('timeScale must be a positive number');
    this.timeScale = timeScale;
    this.#wallStart = performance.now();
    this.#epochMs = options.epochMs ?? Date.now();
  }

  /** Simulated milliseconds since construction. */
  monotonic(): number {
    return (performance.now() - this.#wallStart) * this.timeScale;
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return this.#epochMs + this.monotonic();
  }

  /** Simulated seconds since construction, for reports. */
  seconds(): number {
    return this.monotonic() / 1000;
  }

  /** Runs `fn` once `simMs` simulated milliseconds have passed. */
  setTimeout(fn: () => void, simMs: number): SimTimer {
    return this.at(fn, this.monotonic() + Math.max(0, simMs));
  }

  /**
   * Runs `fn` when the simulated clock reaches `atSimMs` (soon, asynchronously, if it has).
   * Node's timers measure from the event loop's cached time and can fire a little early by
   * the real clock; this one re-arms until the simulated time has truly come, so a callback
   * never sees a clock short of its deadline (a peripheral "arriving" while still out of range).
   */
  at(fn: () => void, atSimMs: number): SimTimer {
    return new SimTimer(this, fn, atSimMs);
  }

  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, simMs));
  }
}

/** A pending SimClock callback. */
export class SimTimer {
  readonly #clock: SimClock;
  readonly #fn: () => void;
  readonly #at: number;
  #timeout: NodeJS.Timeout | undefined;

  constructor(clock: SimClock, fn: () => void, atSimMs: number) {
    this.#clock = clock;
    this.#fn = fn;
    this.#at = atSimMs;
    this.#arm();
  }

  cancel(): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = undefined;
  }

  #arm(): void {
    const wallMs = (this.#at - this.#clock.monotonic()) / this.#clock.timeScale;
    this.#timeout = setTimeout(
      () => {
        if (this.#clock.monotonic() < this.#at) {
          this.#arm();
          return;
        }
        this.#timeout = undefined;
        this.#fn();
      },
      Math.max(0, wallMs),
    );
  }
}
