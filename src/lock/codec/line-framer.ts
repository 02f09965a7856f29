import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { CtopError } from '../../errors.js';
import { MAX_LINE } from './constants.js';

export interface LineFramerOptions extends TransformOptions {
  /** Longest accepted line in bytes, LF included. Default MAX_LINE (2048). */
  maxLine?: number;
  /**
   * Milliseconds a started line may take to complete before the stream fails with
   * E_LINE_SLOW (slow-loris). Default 2000. 0 disables the check.
   */
  lineTimeoutMs?: number;
  /**
   * What a line of `maxLine` bytes without its LF does. 'fail' (default, the gateway):
   * the stream fails with E_LINE_TOO_LONG. 'skip' (a lock, PROTOCOL.md §2): the bytes are
   * discarded up to the next LF, an 'overlong' event is emitted, and framing goes on.
   */
  overflow?: 'fail' | 'skip';
  /** The clock the line deadline runs on, when it has timers (a simulated radio's). Default: the process's timers. */
  clock?: LineDeadlineClock;
}

/**
 * What the framer needs of a clock: a timer. Stated here rather than imported so the codec
 * stays pure (src/clock.ts's `Clock` fits it: pass the session's clock).
 */
export interface LineDeadlineClock {
  setTimeout?(fn: () => void, ms: number): LineDeadlineTimer;
}

interface LineDeadlineTimer {
  cancel(): void;
}

const LF = 0x0a;

/**
 * Splits the byte stream from a lock into lines, with the limits PROTOCOL.md §2 sets for
 * untrusted input: a line is at most `maxLine` bytes, LF included, and the framer never
 * holds more than `maxLine - 1` bytes of an unfinished line — it scans each chunk where it
 * lies and copies only what belongs to the line in progress, so a chunk of any size with
 * no LF cannot make it buffer more (issue 18: the readline parser it replaces held a whole
 * chunk before checking). A started line must complete within `lineTimeoutMs`. Pushes each
 * line as a Buffer without its LF; empty lines are not pushed.
 */
export class LineFramer extends Transform {
  readonly maxLine: number;
  readonly lineTimeoutMs: number;
  readonly overflow: 'fail' | 'skip';
  /** The unfinished line: `#held` bytes at the start of a buffer of maxLine - 1 bytes. */
  readonly #line: Buffer;
  #held = 0;
  /** In 'skip' mode, after an overlong line: bytes are dropped until the next LF. */
  #skipping = false;
  readonly #clock: LineDeadlineClock | undefined;
  #lineTimer: LineDeadlineTimer | undefined;

  constructor({
    maxLine = MAX_LINE,
    lineTimeoutMs = 2000,
    overflow = 'fail',
    clock,
    ...options
  }: LineFramerOptions = {}) {
    if (!Number.isInteger(maxLine) || maxLine < 16) throw new TypeError('"maxLine" must be an integer >= 16');
    if (!Number.isFinite(lineTimeoutMs) || lineTimeoutMs < 0)
      throw new TypeError('"lineTimeoutMs" must be >= 0');
    if (overflow !== 'fail' && overflow !== 'skip')
      throw new TypeError('"overflow" must be "fail" or "skip"');
    super(options);
    this.maxLine = maxLine;
    this.lineTimeoutMs = lineTimeoutMs;
    this.overflow = overflow;
    this.#line = Buffer.alloc(maxLine - 1);
    this.#clock = clock;
  }

  /** Bytes of an unfinished line held right now; never more than maxLine - 1. */
  get pending(): number {
    return this.#held;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, cb: TransformCallback): void {
    let pos = 0;
    let completed = false;
    while (pos < chunk.byteLength) {
      const lf = chunk.indexOf(LF, pos);
      const end = lf === -1 ? chunk.byteLength : lf;
      if (this.#skipping) {
        if (lf !== -1) this.#skipping = false;
      } else if (this.#held + (end - pos) >= this.maxLine) {
        // `maxLine` bytes arrived and none was the LF: the line is invalid (§2).
        const arrived = this.#held + (end - pos);
        const heldBytes = this.#held;
        this.#held = 0;
        const err = new CtopError(
          'E_LINE_TOO_LONG',
          `a line reached ${this.maxLine} bytes without its LF (${lf === -1 ? 'at least ' : ''}${arrived + (lf === -1 ? 0 : 1)} bytes)`,
          { details: { maxLine: this.maxLine, heldBytes } },
        );
        if (this.overflow === 'fail') {
          this.#clearLineTimer();
          cb(err);
          return;
        }
        this.emit('overlong', err);
        this.#skipping = lf === -1;
      } else if (lf === -1) {
        chunk.copy(this.#line, this.#held, pos, end);
        this.#held += end - pos;
      } else {
        const line = Buffer.allocUnsafe(this.#held + (end - pos));
        this.#line.copy(line, 0, 0, this.#held);
        chunk.copy(line, this.#held, pos, end);
        this.#held = 0;
        completed = true;
        if (line.byteLength > 0) this.push(line);
      }
      pos = lf === -1 ? chunk.byteLength : lf + 1;
    }
    // The deadline runs per line: a completed line restarts it for the next one.
    if (completed) this.#clearLineTimer();
    this.#armLineTimer();
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.#clearLineTimer();
    // An unfinished line at end of stream is not a frame: drop it rather than push it.
    this.#held = 0;
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#clearLineTimer();
    super._destroy(err, cb);
  }

  #armLineTimer(): void {
    if (this.#held === 0) {
      this.#clearLineTimer();
      return;
    }
    if (this.#lineTimer || this.lineTimeoutMs === 0) return;
    const started = this.#held;
    const expire = () => {
      this.#lineTimer = undefined;
      if (this.#held === 0) return;
      const err = new CtopError('E_LINE_SLOW', `a line stayed incomplete for ${this.lineTimeoutMs} ms`, {
        details: { heldBytes: this.#held, firstBytes: started },
      });
      if (this.overflow === 'skip') {
        // A lock drops the line and listens on (§2, lock side: its line timeout).
        this.#held = 0;
        this.emit('overlong', err);
        return;
      }
      this.destroy(err);
    };
    if (this.#clock?.setTimeout) {
      this.#lineTimer = this.#clock.setTimeout(expire, this.lineTimeoutMs);
      return;
    }
    const timer = setTimeout(expire, this.lineTimeoutMs);
    timer.unref();
    this.#lineTimer = { cancel: () => clearTimeout(timer) };
  }

  #clearLineTimer(): void {
    this.#lineTimer?.cancel();
    this.#lineTimer = undefined;
  }
}
