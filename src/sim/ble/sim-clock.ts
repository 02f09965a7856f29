import type { Clock } from '../../clock.js';

export interface SimClockOptions {
  /** Simulated seconds per wall second. Default 1. */
  timeScale?: number;
  /** Epoch milliseconds `now()` reports at simulated time zero. Default: the wall time at construction. */
  epochMs?: number;
  /**
   * The most wall time one step of the clock may count, ms. Default 20. A longer gap between
   * two steps means the process did not run (the scheduler gave the core to others, a long
   * synchronous turn, a debugger): the simulated world waits for it instead of running on
   * unseen, so a starved test sees the same train as an idle one.
   */
  maxStepMs?: number;
  /** Start held at zero: no simulated time passes until `release()`. Default false. */
  held?: boolean;
}

/** After this much wall time with no read and no timer pending, the heartbeat stops, ms. */
const IDLE_AFTER_MS = 1000;

/** What a SimTimer needs of its clock (kept off the clock's public face). */
interface TimerHost {
  monotonic(): number;
  /** Wall ms until the simulated time, at the clock's pace; undefined while the clock is held. */
  wallMsUntil(atSimMs: number): number | undefined;
  track(timer: SimTimer, pending: boolean): void;
}

/**
 * Simulated time for the radio world: it runs `timeScale` times faster than the wall clock,
 * from zero at construction, so a 20-minute train can pass in two wall minutes. It is a
 * `Clock` (src/clock.ts): code that should think in simulated seconds — timeouts of a
 * transport under test, a benchmark reporting "simulated seconds" — takes this clock.
 *
 * It cannot run ahead of the process it simulates. Time advances in steps, at most one per
 * callback of the event loop (the first read in a callback takes it; later reads in the same
 * callback see the same time, as in a discrete-event simulation), and a step counts the wall
 * time since the previous one only up to `maxStepMs`. A heartbeat takes a step every
 * `maxStepMs / 2` while anything waits on the clock, so on a process that runs when it asks
 * to, simulated time is the wall clock × `timeScale`; when the process is not scheduled, the
 * simulated world stands still with it. However loaded the machine, simulated time advances
 * at most `maxStepMs × timeScale` per callback: what the simulated host achieves in a given
 * number of event-loop turns is the same on a slow machine as on a fast one.
 *
 * Timers are wall timers of duration simMs ÷ timeScale that re-arm until the simulated time
 * has truly come; Node's timers are about 1 ms coarse, so everything driven by this clock
 * works in batches (the link layer catches up on all connection events that fell due)
 * rather than one timer per radio event.
 */
export class SimClock implements Clock {
  readonly timeScale: number;
  readonly maxStepMs: number;
  readonly #epochMs: number;
  /** Simulated ms at the last step. */
  #sim = 0;
  /** Wall ms (performance.now) of the last step. */
  #wallAt: number;
  /** A step was taken in the current callback; a microtask clears it. */
  #stepped = false;
  #held: boolean;
  readonly #pending = new Set<SimTimer>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** The heartbeat stopped for want of use: the wall time until the next use counts in full. */
  #parked = false;
  #lastReadAt: number;
  readonly #host: TimerHost = {
    monotonic: () => this.monotonic(),
    wallMsUntil: (atSimMs) => {
      if (this.#held) return undefined;
      return Math.max(0, (atSimMs - this.monotonic()) / this.timeScale);
    },
    track: (timer, pending) => {
      if (!pending) {
        this.#pending.delete(timer);
        return;
      }
      this.#pending.add(timer);
      this.#beat();
    },
  };

  constructor(options: SimClockOptions = {}) {
    const { timeScale = 1, maxStepMs = 20 } = options;
    if (!(timeScale > 0) || !Number.isFinite(timeScale))
      throw new TypeError('timeScale must be a positive number');
    if (!(maxStepMs > 0) || !Number.isFinite(maxStepMs))
      throw new TypeError('maxStepMs must be a positive number');
    this.timeScale = timeScale;
    this.maxStepMs = maxStepMs;
    this.#wallAt = performance.now();
    this.#lastReadAt = this.#wallAt;
    this.#epochMs = options.epochMs ?? Date.now();
    this.#held = options.held ?? false;
  }

  /** Simulated milliseconds since construction. */
  monotonic(): number {
    if (!this.#stepped) this.#step();
    this.#lastReadAt = this.#wallAt;
    this.#beat();
    return this.#sim;
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return this.#epochMs + this.monotonic();
  }

  /** Simulated seconds since construction, for reports. */
  seconds(): number {
    return this.monotonic() / 1000;
  }

  /** Whether the clock is held (see `SimClockOptions.held`). */
  get held(): boolean {
    return this.#held;
  }

  /** Lets a held clock run on from the time it was held at. */
  release(): void {
    if (!this.#held) return;
    this.#step();
    this.#held = false;
    for (const timer of this.#pending) timer.rearm();
  }

  /** Runs `fn` once `simMs` simulated milliseconds have passed. */
  setTimeout(fn: () => void, simMs: number): SimTimer {
    return this.at(fn, this.monotonic() + Math.max(0, simMs));
  }

  /**
   * Runs `fn` when the simulated clock reaches `atSimMs` (soon, asynchronously, if it has).
   * Node's timers measure from the event loop's cached time and can fire a little early by
   * the real clock, and the clock loses time a stall of the process does not count; a timer
   * re-arms until the simulated time has truly come, so a callback never sees a clock short
   * of its deadline (a peripheral "arriving" while still out of range).
   */
  at(fn: () => void, atSimMs: number): SimTimer {
    return new SimTimer(this.#host, fn, atSimMs);
  }

  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, simMs));
  }

  #step(): void {
    const wall = performance.now();
    const gap = wall - this.#wallAt;
    this.#wallAt = wall;
    if (!this.#held && gap > 0) {
      this.#sim += (this.#parked ? gap : Math.min(gap, this.maxStepMs)) * this.timeScale;
    }
    this.#parked = false;
    this.#stepped = true;
    queueMicrotask(() => {
      this.#stepped = false;
    });
  }

  /**
   * Steps every maxStepMs / 2 while a timer waits or the clock was read lately, so wall time
   * in which the process was idle but running counts in full. It stops when nothing has used
   * the clock for a while, so it never keeps a process alive and a forgotten clock costs
   * nothing; while it is stopped nothing simulated is scheduled, so a stall then can make
   * nothing be missed, and that wall time counts in full at the next use.
   */
  #beat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => {
      this.#step();
      if (this.#pending.size === 0 && this.#wallAt - this.#lastReadAt > IDLE_AFTER_MS) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
        this.#parked = true;
      }
    }, this.maxStepMs / 2);
    this.#heartbeat.unref();
  }
}

/** A pending SimClock callback. */
export class SimTimer {
  readonly #host: TimerHost;
  readonly #fn: () => void;
  readonly #at: number;
  #timeout: NodeJS.Timeout | undefined;
  #done = false;

  constructor(host: TimerHost, fn: () => void, atSimMs: number) {
    this.#host = host;
    this.#fn = fn;
    this.#at = atSimMs;
    host.track(this, true);
    this.#arm();
  }

  cancel(): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = undefined;
    this.#done = true;
    this.#host.track(this, false);
  }

  /** The clock's pace changed (a held clock was released): wait anew. */
  rearm(): void {
    if (this.#done) return;
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#arm();
  }

  #arm(): void {
    const wallMs = this.#host.wallMsUntil(this.#at);
    // A held clock does not move: the timer waits for release(), which re-arms it.
    if (wallMs === undefined) {
      this.#timeout = undefined;
      return;
    }
    this.#timeout = setTimeout(() => {
      if (this.#host.monotonic() < this.#at) {
        this.#arm();
        return;
      }
      this.#timeout = undefined;
      this.#done = true;
      this.#host.track(this, false);
      this.#fn();
    }, wallMs);
  }
}
