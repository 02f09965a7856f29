import { CtopError, type ErrorCode } from '../errors.js';

/** Starts a timer; returns its cancel. Injected by tests so the deadline is proven without waiting. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export interface ReadWatchOptions {
  /** No valid answer for this long ends the read (PROTOCOL.md §10). Default 15 s; at most 30 s. */
  deadlineMs?: number;
  /** This many malformed frames in a row, no valid answer between, end the read. Default 16. */
  malformedRun?: number;
  /** Replayed or stray frames tolerated per read; the next ends it (§9.2). Default 32. */
  maxUnmatched?: number;
  schedule?: Schedule;
}

export const DEFAULT_READ_DEADLINE_MS = 15_000;
export const MAX_READ_DEADLINE_MS = 30_000;

const realSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

/**
 * The limits of PROTOCOL.md §9.2 and §10 on one whole read, over all its links — which no
 * per-request retransmission budget gives: a lock that answers nothing usable is given up
 * `deadlineMs` after its last valid answer (or the first link), one whose answers are all
 * malformed after `malformedRun` of them, one that repeats its answers after
 * `maxUnmatched`. What ends the read is final: the reader opens no new link for it.
 *
 * The sessions of the read report to it; `onEnd` tells the current session to stop.
 */
export class ReadWatch {
  readonly deadlineMs: number;
  readonly malformedRun: number;
  readonly maxUnmatched: number;
  readonly #schedule: Schedule;
  #cancel: (() => void) | undefined;
  #listener: ((err: CtopError) => void) | undefined;
  /** Malformed frames since the last valid answer, and the last of them. */
  #run = 0;
  #lastMalformed: CtopError | undefined;
  #replays = 0;
  #strays = 0;
  #ended: CtopError | undefined;
  #endedPromise: Promise<CtopError> | undefined;
  #resolveEnded: ((err: CtopError) => void) | undefined;

  constructor(options: ReadWatchOptions = {}) {
    const deadline = options.deadlineMs ?? DEFAULT_READ_DEADLINE_MS;
    if (!Number.isFinite(deadline) || deadline <= 0 || deadline > MAX_READ_DEADLINE_MS) {
      throw new TypeError(`"deadlineMs" must be > 0 and at most ${MAX_READ_DEADLINE_MS} (PROTOCOL.md §10)`);
    }
    this.deadlineMs = deadline;
    this.malformedRun = options.malformedRun ?? 16;
    this.maxUnmatched = options.maxUnmatched ?? 32;
    this.#schedule = options.schedule ?? realSchedule;
  }

  /** Why the read ended, once it has. */
  get ended(): CtopError | undefined {
    return this.#ended;
  }

  get unmatchedCounts(): { replays: number; strays: number } {
    return { replays: this.#replays, strays: this.#strays };
  }

  /**
   * Resolves with the reason once the read has ended: what the reader races a new link's
   * opening against, so an opener that never settles cannot hold the read past its deadline.
   */
  whenEnded(): Promise<CtopError> {
    if (this.#ended) return Promise.resolve(this.#ended);
    this.#endedPromise ??= new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    return this.#endedPromise;
  }

  /** The current session: told to fail when the read ends. */
  onEnd(listener: ((err: CtopError) => void) | undefined): void {
    this.#listener = listener;
  }

  /** A link of the read is open: the deadline runs from the first one, never paused. */
  linkOpen(): void {
    if (!this.#cancel && !this.#ended) this.#arm();
  }

  /** A frame passed every check and answered a request of this read (an ERROR included). */
  answered(): void {
    if (this.#ended) return;
    this.#run = 0;
    this.#lastMalformed = undefined;
    this.#arm();
  }

  /** A frame failed a check of §3. */
  malformed(err: CtopError): void {
    if (this.#ended) return;
    this.#lastMalformed = err;
    if (++this.#run >= this.malformedRun) {
      this.#end(
        new CtopError(
          err.code,
          `${this.#run} malformed frames in a row, no valid answer between: ${err.message}`,
          {
            cause: err,
            details: { ...err.details, malformedRun: this.#run, final: true },
          },
        ),
      );
    }
  }

  /** A frame answering a request already answered (replay) or none of this read (stray). */
  unmatched(kind: 'replay' | 'stray'): void {
    if (this.#ended) return;
    if (kind === 'replay') this.#replays++;
    else this.#strays++;
    const count = this.#replays + this.#strays;
    if (count <= this.maxUnmatched) return;
    const code: ErrorCode = kind === 'replay' ? 'E_FRAME_REPLAY' : 'E_FRAME_SEQ';
    this.#end(
      new CtopError(
        code,
        `${count} replayed or unmatched frames in one read (the bound is ${this.maxUnmatched})`,
        {
          details: { replays: this.#replays, strays: this.#strays, bound: this.maxUnmatched, final: true },
        },
      ),
    );
  }

  /** Ends the read with `err` (a link that could not be opened within the deadline). */
  giveUp(err: CtopError): void {
    this.#end(err);
  }

  /** The read is over: no timer left behind. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#listener = undefined;
  }

  #arm(): void {
    this.#cancel?.();
    this.#cancel = this.#schedule(() => {
      this.#cancel = undefined;
      this.#expire();
    }, this.deadlineMs);
  }

  #expire(): void {
    const cause = this.#lastMalformed;
    const seconds = `${this.deadlineMs / 1000} s`;
    this.#end(
      cause
        ? new CtopError(
            cause.code,
            `no valid answer for ${seconds} (read deadline); the last frame: ${cause.message}`,
            {
              cause,
              details: { ...cause.details, deadlineMs: this.deadlineMs, final: true },
            },
          )
        : new CtopError('E_LOCK_TIMEOUT', `no valid answer for ${seconds} (read deadline)`, {
            details: { deadlineMs: this.deadlineMs, final: true },
          }),
    );
  }

  #end(err: CtopError): void {
    if (this.#ended) return;
    this.#ended = err;
    this.#cancel?.();
    this.#cancel = undefined;
    this.#listener?.(err);
    this.#resolveEnded?.(err);
  }
}
