import type { TransformCallback, TransformOptions } from 'node:stream';
import { ReadlineParser } from '@serialport/parser-readline';
import type { Clock, ClockTimer } from '../../clock.js';
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
  /** The clock the line deadline runs on, when it has timers (a simulated radio's). Default: the process's timers. */
  clock?: Clock;
}

/**
 * Splits the byte stream from a lock into lines with @serialport/parser-readline, and
 * adds what it lacks for untrusted input: a hard maximum line length (an endless line
 * fails the stream with E_LINE_TOO_LONG once the limit is passed, so memory stays bounded
 * at maxLine plus one transport chunk) and a completion deadline for a started line.
 * Pushes each line as a Buffer without its LF.
 */
export class LineFramer extends ReadlineParser {
  readonly maxLine: number;
  readonly lineTimeoutMs: number;
  readonly #clock: Clock | undefined;
  #lineTimer: ClockTimer | undefined;
  #linesPushed = 0;

  constructor({ maxLine = MAX_LINE, lineTimeoutMs = 2000, clock, ...options }: LineFramerOptions = {}) {
    if (!Number.isInteger(maxLine) || maxLine < 16) throw new TypeError('"maxLine" must be an integer >= 16');
    if (!Number.isFinite(lineTimeoutMs) || lineTimeoutMs < 0)
      throw new TypeError('"lineTimeoutMs" must be >= 0');
    // Lines are pushed as Buffers: the frame decoder wants bytes, not text.
    super({ ...options, delimiter: '\n', encoding: undefined as unknown as BufferEncoding });
    this.maxLine = maxLine;
    this.lineTimeoutMs = lineTimeoutMs;
    this.#clock = clock;
  }

  /** Bytes of an unfinished line held right now. */
  get pending(): number {
    return this.buffer.byteLength;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, cb: TransformCallback): void {
    const linesBefore = this.#linesPushed;
    super._transform(chunk, encoding, (err?: Error | null) => {
      if (err) return cb(err);
      // The buffer holds the unfinished tail; a finished line longer than the limit is
      // caught by the frame decoder's own size check, so one test covers both cases.
      if (this.buffer.byteLength >= this.maxLine) {
        const held = this.buffer.byteLength;
        this.buffer = Buffer.alloc(0);
        return cb(
          new CtopError('E_LINE_TOO_LONG', `line passed ${this.maxLine} bytes without a LF (${held} held)`),
        );
      }
      // The deadline runs per line: a completed line restarts it for the next one.
      if (this.#linesPushed !== linesBefore) this.#clearLineTimer();
      this.#armLineTimer();
      cb();
    });
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (Buffer.isBuffer(chunk) && chunk.byteLength >= this.maxLine) {
      this.destroy(
        new CtopError('E_LINE_TOO_LONG', `line of ${chunk.byteLength} bytes exceeds ${this.maxLine}`),
      );
      return false;
    }
    this.#linesPushed++;
    return super.push(chunk, encoding);
  }

  override _flush(cb: TransformCallback): void {
    this.#clearLineTimer();
    // An unfinished line at end of stream is not a frame: drop it rather than push it.
    this.buffer = Buffer.alloc(0);
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#clearLineTimer();
    super._destroy(err, cb);
  }

  #armLineTimer(): void {
    if (this.buffer.byteLength === 0) {
      this.#clearLineTimer();
      return;
    }
    if (this.#lineTimer || this.lineTimeoutMs === 0) return;
    const started = this.buffer.byteLength;
    const expire = () => {
      this.#lineTimer = undefined;
      if (this.buffer.byteLength === 0) return;
      this.destroy(
        new CtopError('E_LINE_SLOW', `a line stayed incomplete for ${this.lineTimeoutMs} ms`, {
          details: { heldBytes: this.buffer.byteLength, firstBytes: started },
        }),
      );
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
