import { EventEmitter } from 'node:events';
import { CtopError } from '../../errors.js';
import { HEADER_SIZE, MAX_BODY, MAX_LINE } from './constants.js';

export interface LineFramerOptions {
  /** Longest accepted line in bytes, LF included. Default MAX_LINE (2048). */
  maxLine?: number;
  /**
   * Milliseconds a started line (or binary frame) may take to complete before the framer
   * fails with E_LINE_SLOW (slow-loris). Default 2000. 0 disables the check.
   */
  lineTimeoutMs?: number;
  /**
   * What a line of `maxLine` bytes without its LF does. 'fail' (default, the gateway):
   * the framer fails with E_LINE_TOO_LONG. 'skip' (a lock, PROTOCOL.md §2): the bytes are
   * discarded up to the next LF, an 'overlong' event is emitted, and framing goes on.
   */
  overflow?: 'fail' | 'skip';
  /** The clock the line deadline runs on, when it has timers (a simulated radio's). Default: the process's timers. */
  clock?: LineDeadlineClock;
  /**
   * After `binary()`, a `~` where a frame would start begins a line instead (a lock,
   * PROTOCOL.md §13.4: a HELLO the gateway sent again before it saw the answer that switched
   * the link). Default false: a gateway's binary stream holds only frames.
   */
  linesBetweenFrames?: boolean;
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
const MARKER = 0x7e;
/** Bytes of a binary frame after its header's `len` body bytes: the CRC. */
const BINARY_TAIL = 4;

/**
 * Splits the byte stream of a lock link into what it carries (PROTOCOL.md §2, §13.4), with
 * the limits set for untrusted input.
 *
 * Lines: at most `maxLine` bytes, LF included, and the framer never holds more than
 * `maxLine - 1` bytes of an unfinished line — it scans each chunk where it lies and copies
 * only what belongs to the line in progress, so a chunk of any size with no LF cannot make
 * it buffer more (issue 18). Emits 'data' with each line without its LF; empty lines are
 * not emitted.
 *
 * Binary frames, after `binary()`: frames back to back, each delimited by its header's
 * `len`; a `len` above the protocol's body limit fails the framer at once (E_FRAME_LENGTH:
 * the stream cannot be resynchronised), so at most one frame (1500 bytes) is held. Emits
 * 'frame' with each whole frame, unchecked beyond its length (the CRC is the frame's).
 *
 * Events are emitted synchronously, in stream order, so a 'data' handler that calls
 * `binary()` switches the framing at that line's LF, for the rest of the same chunk too.
 * A started line or frame must complete within `lineTimeoutMs`. Fatal failures are emitted
 * as 'error', once, after which the framer is destroyed.
 */
export class LineFramer extends EventEmitter {
  readonly maxLine: number;
  readonly lineTimeoutMs: number;
  readonly overflow: 'fail' | 'skip';
  /** The unfinished line or frame: `#held` bytes at the start of a buffer of maxLine - 1 bytes. */
  readonly #buffer: Buffer;
  #held = 0;
  /** In 'skip' mode, after an overlong line: bytes are dropped until the next LF. */
  #skipping = false;
  #binary = false;
  readonly #linesBetweenFrames: boolean;
  /** In binary framing, a line (it began with `~` where a frame would start) is in progress. */
  #lineInBinary = false;
  #destroyed = false;
  #ended = false;
  readonly #clock: LineDeadlineClock | undefined;
  #lineTimer: LineDeadlineTimer | undefined;

  constructor({
    maxLine = MAX_LINE,
    lineTimeoutMs = 2000,
    overflow = 'fail',
    clock,
    linesBetweenFrames = false,
  }: LineFramerOptions = {}) {
    if (!Number.isInteger(maxLine) || maxLine < 16) throw new TypeError('"maxLine" must be an integer >= 16');
    if (!Number.isFinite(lineTimeoutMs) || lineTimeoutMs < 0)
      throw new TypeError('"lineTimeoutMs" must be >= 0');
    if (overflow !== 'fail' && overflow !== 'skip')
      throw new TypeError('"overflow" must be "fail" or "skip"');
    super();
    this.maxLine = maxLine;
    this.lineTimeoutMs = lineTimeoutMs;
    this.overflow = overflow;
    // A binary frame (at most 1500 bytes) fits the same buffer as a line.
    this.#buffer = Buffer.alloc(Math.max(maxLine - 1, HEADER_SIZE + MAX_BODY + BINARY_TAIL));
    this.#clock = clock;
    this.#linesBetweenFrames = linesBetweenFrames;
  }

  /** Bytes of an unfinished line or frame held right now; never more than maxLine - 1 (1500 for a frame). */
  get pending(): number {
    return this.#held;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Whether the stream carries binary frames (after `binary()`). */
  get isBinary(): boolean {
    return this.#binary;
  }

  /**
   * From the next byte on, the stream carries binary frames (PROTOCOL.md §13.4): called
   * while a line is being emitted, it takes effect right after that line's LF.
   */
  binary(): void {
    if (this.#binary) return;
    this.#binary = true;
    this.#skipping = false;
  }

  write(chunk: Uint8Array): void {
    if (this.#destroyed || this.#ended) return;
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    let completed = false;
    while (pos < bytes.byteLength && !this.#destroyed) {
      if (this.#binary && this.#held === 0 && !this.#lineInBinary && this.#linesBetweenFrames)
        this.#lineInBinary = bytes[pos] === MARKER;
      const framesNow = this.#binary && !this.#lineInBinary;
      const next = framesNow ? this.#frameStep(bytes, pos) : this.#lineStep(bytes, pos);
      // The line is over once nothing of it is held or skipped: frames follow again.
      if (this.#lineInBinary) this.#lineInBinary = this.#held > 0 || this.#skipping;
      if (next.completed) completed = true;
      pos = next.pos;
    }
    if (this.#destroyed) return;
    // The deadline runs per line or frame: a completed one restarts it for the next.
    if (completed) this.#clearLineTimer();
    this.#armLineTimer();
  }

  /**
   * Ends the stream: an unfinished line or frame is not one, it is dropped. Emits 'end', then
   * 'close' (as a stream does once finished).
   */
  end(chunk?: Uint8Array): void {
    if (chunk) this.write(chunk);
    if (this.#destroyed || this.#ended) return;
    this.#ended = true;
    this.#clearLineTimer();
    this.#held = 0;
    this.emit('end');
    this.destroy();
  }

  destroy(err?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#clearLineTimer();
    this.#held = 0;
    if (err) this.emit('error', err);
    this.emit('close');
  }

  #lineStep(chunk: Buffer, pos: number): { pos: number; completed: boolean } {
    const lf = chunk.indexOf(LF, pos);
    const end = lf === -1 ? chunk.byteLength : lf;
    const nextPos = lf === -1 ? chunk.byteLength : lf + 1;
    if (this.#skipping) {
      if (lf !== -1) this.#skipping = false;
      return { pos: nextPos, completed: false };
    }
    if (this.#held + (end - pos) >= this.maxLine) {
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
        this.destroy(err);
        return { pos: chunk.byteLength, completed: false };
      }
      this.emit('overlong', err);
      this.#skipping = lf === -1;
      return { pos: nextPos, completed: false };
    }
    if (lf === -1) {
      chunk.copy(this.#buffer, this.#held, pos, end);
      this.#held += end - pos;
      return { pos: nextPos, completed: false };
    }
    const line = Buffer.allocUnsafe(this.#held + (end - pos));
    this.#buffer.copy(line, 0, 0, this.#held);
    chunk.copy(line, this.#held, pos, end);
    this.#held = 0;
    if (line.byteLength > 0) this.emit('data', line);
    return { pos: nextPos, completed: true };
  }

  #frameStep(chunk: Buffer, pos: number): { pos: number; completed: boolean } {
    // The header first: its `len` says how much more belongs to the frame.
    if (this.#held < HEADER_SIZE) {
      const take = Math.min(HEADER_SIZE - this.#held, chunk.byteLength - pos);
      chunk.copy(this.#buffer, this.#held, pos, pos + take);
      this.#held += take;
      pos += take;
      if (this.#held < HEADER_SIZE) return { pos, completed: false };
      const len = this.#buffer.readUInt16BE(4);
      if (len > MAX_BODY) {
        this.destroy(
          new CtopError('E_FRAME_LENGTH', `binary frame announces a ${len}-byte body, above ${MAX_BODY}`, {
            details: { len, header: this.#buffer.subarray(0, HEADER_SIZE).toString('hex') },
          }),
        );
        return { pos: chunk.byteLength, completed: false };
      }
    }
    const size = HEADER_SIZE + this.#buffer.readUInt16BE(4) + BINARY_TAIL;
    const take = Math.min(size - this.#held, chunk.byteLength - pos);
    chunk.copy(this.#buffer, this.#held, pos, pos + take);
    this.#held += take;
    pos += take;
    if (this.#held < size) return { pos, completed: false };
    const frame = Buffer.from(this.#buffer.subarray(0, size));
    this.#held = 0;
    this.emit('frame', frame);
    return { pos, completed: true };
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
      if (this.#held === 0 || this.#destroyed) return;
      const what = this.#binary ? 'a binary frame' : 'a line';
      const err = new CtopError('E_LINE_SLOW', `${what} stayed incomplete for ${this.lineTimeoutMs} ms`, {
        details: { heldBytes: this.#held, firstBytes: started },
      });
      if (this.overflow === 'skip' && !this.#binary) {
        // A lock drops the line and listens on (§2, lock side: its line timeout).
        this.#held = 0;
        this.emit('overlong', err);
        return;
      }
      // A binary stream that stalled mid-frame cannot be resynchronised: the link is done.
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
