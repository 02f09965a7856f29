import type { Clock } from '../../clock.js';

export interface SimClockOptions {
  /** Simulated seconds per wall second. Default 1. */
  timeScale?: number;
  /** Epoch milliseconds `now()` reports at simulated time zero. Default: the wall time at construction. */
  epochMs?: number;
  /**
   * The most wall time one step of the clock may count, ms. Default 20. A step counts only
   * the time the process waited idle for events since the previous one, and a wait longer
   * than this means the process was ready but not run (the scheduler gave the core to
   * others): the simulated world waits for it instead of running on unseen.
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
 * `Clock` (src/clock.ts) with timers: code that should think in simulated seconds — the
 * timeouts of a transport under test, a benchmark reporting "simulated seconds" — takes it.
 *
 * It cannot run ahead of the process it simulates. Time advances in steps, at most one per
 * callback of the event loop (the first read in a callback takes it; later reads in the same
 * callback see the same instant, as in a discrete-event simulation), and a step counts only
 * the wall time the event loop spent waiting idle since the previous step, at most
 * `maxStepMs` of it. Time spent running code — the simulator's, or that of the host under
 * test in the same process — does not pass in the simulated world, nor does time the process
 * was not scheduled, beyond `maxStepMs` per step. A heartbeat takes a step every
 * `maxStepMs / 2` while anything waits on the clock, so a process that waits for its timers
 * sees simulated time run at the wall clock × `timeScale`. What happens in the simulated
 * world then depends on the order of events, not on how fast the machine runs them: a test
 * on a starved machine sees the same train as on an idle one. (Host CPU time is free in
 * simulated time; what it costs is measured by the benchmarks, not by a test's outcome.)
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
  /** The event loop's idle ms (eventLoopUtilization) at the last step. */
  #idleAt: number;
  /** A step was taken in the current callback; a microtask clears it. */
  #stepped = false;
  #held: boolean;
  readonly #pending = new Set<SimTimer>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** The heartbeat stopped for want of use: the idle time until the next use counts in full. */
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
    this.#idleAt = performance.eventLoopUtilization().idle;
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
    const idle = performance.eventLoopUtilization().idle;
    const waited = this.#parked ? idle - this.#idleAt : Math.min(idle - this.#idleAt, this.maxStepMs);
    this.#wallAt = wall;
    this.#idleAt = idle;
    if (!this.#held && waited > 0) this.#sim += waited * this.timeScale;
    this.#parked = false;
    this.#stepped = true;
    queueMicrotask(() => {
      this.#stepped = false;
    });
  }

  /**
   * Steps every maxStepMs / 2 while a timer waits or the clock was read lately, so the time
   * a process spends waiting counts in full when it is scheduled as it asks. It stops when
   * nothing has used the clock for a while, so it never keeps a process alive and a forgotten
   * clock costs nothing; while it is stopped nothing simulated is scheduled, so a stall can
   * make nothing be missed, and the time waited counts in full at the next use.
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
