/** A timer started on a Clock. */
export interface ClockTimer {
  cancel(): void;
}

/** Injected wherever time matters so tests and simulations control it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic milliseconds for measuring durations. */
  monotonic(): number;
  /**
   * Runs `fn` once `ms` have passed on this clock's monotonic time. Optional: without it, the
   * process's own timers. A simulated clock has its own, so that the timeouts of code under
   * test pass with the simulated world's time (which stalls when the process is starved).
   */
  setTimeout?(fn: () => void, ms: number): ClockTimer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/**
 * Notices steps of the wall clock (NTP, GPS, an operator's `date -s`) by watching how far it
 * drifts from the monotonic clock between two looks. A slewing NTP moves it at most 0.5 ms/s,
 * so anything over `thresholdMs` between looks a few seconds apart is a step.
 */
export class WallClockSteps {
  readonly #clock: Clock;
  readonly #thresholdMs: number;
  #offset: number;

  constructor(clock: Clock, thresholdMs = 1000) {
    this.#clock = clock;
    this.#thresholdMs = thresholdMs;
    this.#offset = clock.now() - clock.monotonic();
  }

  /** The step since the last look in ms (negative: back), or 0. */
  look(): number {
    const offset = this.#clock.now() - this.#clock.monotonic();
    const step = offset - this.#offset;
    this.#offset = offset;
    return Math.abs(step) < this.#thresholdMs ? 0 : step;
  }
}

/** `clock.setTimeout`, or the process's timer when the clock has none. */
export function clockTimeout(clock: Clock, fn: () => void, ms: number): ClockTimer {
  if (clock.setTimeout) return clock.setTimeout(fn, ms);
  const timer = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(timer) };
}

/** What `withTimeout` rejects with when the time ran out. */
export class ClockTimeout extends Error {}

/**
 * `promise`, or a ClockTimeout after `ms` on `clock` (`onTimeout` runs first: cancel what
 * is still pending). For operations below us that may never settle.
 */
export function withTimeout<T>(
  clock: Clock,
  promise: Promise<T>,
  ms: number,
  onTimeout?: () => void,
): Promise<T> {
  let timer: ClockTimer | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = clockTimeout(
        clock,
        () => {
          onTimeout?.();
          reject(new ClockTimeout(`no answer within ${ms} ms`));
        },
        ms,
      );
    }),
  ]).finally(() => timer?.cancel());
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function clockSleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clockTimeout(clock, done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
