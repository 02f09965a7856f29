import { randomBytes } from 'node:crypto';
import { type Clock, ClockTimeout, clockSleep, systemClock, withTimeout } from '../clock.js';
import { CtopError, isCtopError, toCtopError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import {
  MAX_CHUNK,
  MAX_LINE,
  MESSAGE_NAMES,
  MessageType,
  PROTOCOL_VERSION,
  RESPONSE_BIT,
  WireError,
  wireErrorName,
} from './codec/constants.js';
import { Frame } from './codec/frame.js';
import { LineFramer } from './codec/line-framer.js';
import {
  type BodyOf,
  decodeMessage,
  encodeMessage,
  type LockInfo,
  type MessageOf,
  type MessageTypeCode,
  type ResponseOf,
} from './codec/messages.js';
import type { ReadWatch } from './read-watch.js';
import { RequestMatcher, RequestTimeout } from './request-matcher.js';
import type { LockLink } from './transport/link.js';

export interface SessionOptions {
  /** Our gateway id, sent in HELLO. */
  gatewayId: string;
  log?: Logger;
  clock?: Clock;
  /** Source of nonces and the initial sequence number. */
  randomBytes?: (n: number) => Uint8Array;
  /** Requests in flight at most; the lock's `win` caps it further. Default 8. */
  window?: number;
  /** Largest READ chunk asked for; the lock's `chunk` caps it further. Default 1024. */
  chunk?: number;
  /** Retransmissions of one request before E_LOCK_TIMEOUT. Default 4. */
  retries?: number;
  /** Largest manifest accepted, checked before anything is allocated. Default 256 KiB. */
  maxManifestBytes?: number;
  /** Timeout of a request before any round trip was measured. Default: scaled to the link rate. */
  initialTimeoutMs?: number;
  /** Most events accepted from one lock. Default 4096. */
  maxEvents?: number;
  /** Replayed or unmatched frames tolerated before the session is ended. Default 32. */
  maxStrayFrames?: number;
  /** Lines without the frame marker tolerated per session (boot banners are a few). Default 256. */
  maxNoiseLines?: number;
  /**
   * Offer binary framing in HELLO on a BLE link (PROTOCOL.md §13.4). Default true; never
   * offered on a serial link, where lines are what lets a receiver resynchronise.
   */
  binaryFraming?: boolean;
  /**
   * The limits of the whole read this session is one link of (PROTOCOL.md §9.2, §10): told of
   * every valid answer, malformed frame and replay; when it ends the read, the session fails.
   */
  watch?: ReadWatch;
}

export interface SessionStats {
  /** Bytes received on the link, noise included. */
  bytesIn: number;
  /** Frames sent, retransmissions included. */
  framesOut: number;
  /** Valid frames received. */
  framesIn: number;
  /** Requests sent again after a timeout. */
  retransmits: number;
  /** Frames dropped for a bad CRC. */
  crcErrors: number;
  /** Frames dropped for bad encoding, length, version, type or body. */
  badFrames: number;
  /** Lines without the frame marker (boot banners, debug prints). */
  noiseLines: number;
  /** Responses to requests already answered. */
  replays: number;
  /** Responses matching no request of this session. */
  strays: number;
  /** Late responses to requests we had given up on and resent. */
  late: number;
}

export function emptySessionStats(): SessionStats {
  return {
    bytesIn: 0,
    framesOut: 0,
    framesIn: 0,
    retransmits: 0,
    crcErrors: 0,
    badFrames: 0,
    noiseLines: 0,
    replays: 0,
    strays: 0,
    late: 0,
  };
}

/**
 * How long a closing link may take to confirm it: a serial port's close drains at most a
 * kernel buffer (4 KiB, 4.3 s at 9600 baud), a BLE disconnect takes a supervision timeout.
 */
export const LINK_CLOSE_WAIT_MS = 10_000;

/** Where a session is; operations check it so callers cannot skip HELLO or AUTH. */
export enum SessionState {
  /** Link open, HELLO not yet answered. */
  Opening = 0,
  /** HELLO answered: version agreed, lock info known. */
  Ready = 1,
  /** AUTH verified against the identity key the lock announced. */
  Authenticated = 2,
  /** Ended by BYE, close() or a fatal error. */
  Closed = 3,
}

type AnyMessage = MessageOf<MessageTypeCode>;

/**
 * What every conversation with a lock over one link shares (PROTOCOL.md §4, §9): the byte
 * pump and line framer, requests sent and their answers matched (RequestMatcher), BUSY and
 * retransmission, the count of everything odd a lock does, and the state that ends it all.
 * It never knows which transport it rides. The reading session (session.ts) and the carrier
 * session (carrier-session.ts) add the operations.
 */
export abstract class LockConversation {
  readonly stats: SessionStats = emptySessionStats();

  protected readonly link: LockLink;
  protected readonly log: Logger;
  protected readonly random: (n: number) => Uint8Array;
  protected readonly options: Required<
    Omit<SessionOptions, 'log' | 'clock' | 'randomBytes' | 'initialTimeoutMs' | 'watch' | 'binaryFraming'>
  >;
  protected readonly clock: Clock;
  protected sessionState = SessionState.Opening;
  protected lockInfo: LockInfo | undefined;
  protected protocolVersion = PROTOCOL_VERSION;
  /** HELLO offers binary framing: a BLE link, not refused by the options (§13.4). */
  protected readonly offersBinary: boolean;
  /** Frames travel binary on this link: the lock accepted the offer. */
  #binary = false;
  readonly #framer: LineFramer;
  readonly #matcher: RequestMatcher<MessageTypeCode, AnyMessage>;
  /** The last frame dropped as malformed, and when: the likely reason a request went unanswered. */
  #lastFrameError: { error: CtopError; at: number } | undefined;
  #failure: CtopError | undefined;
  /** Rejects with the failure once the session has ended. */
  readonly #ended: Promise<never>;
  #endNow: ((err: CtopError) => void) | undefined;
  readonly #watch: ReadWatch | undefined;

  constructor(link: LockLink, options: SessionOptions) {
    this.link = link;
    this.#ended = new Promise<never>((_, reject) => {
      this.#endNow = reject;
    });
    this.#ended.catch(() => undefined);
    this.log = (options.log ?? silentLogger).child({ component: 'lock-session', endpoint: link.endpoint });
    this.clock = options.clock ?? systemClock;
    this.random = options.randomBytes ?? ((n) => randomBytes(n));
    this.options = {
      gatewayId: options.gatewayId,
      window: options.window ?? 8,
      chunk: Math.min(options.chunk ?? MAX_CHUNK, MAX_CHUNK),
      retries: options.retries ?? 4,
      maxManifestBytes: options.maxManifestBytes ?? 256 * 1024,
      maxEvents: options.maxEvents ?? 4096,
      maxStrayFrames: options.maxStrayFrames ?? 32,
      maxNoiseLines: options.maxNoiseLines ?? 256,
    };
    const seed = this.random(2);
    // Timeouts scale with the time one full line takes on this link.
    const lineMs = link.bytesPerSecond ? (MAX_LINE * 1000) / link.bytesPerSecond : 50;
    this.#matcher = new RequestMatcher({
      clock: this.clock,
      firstSeq: ((seed[0] ?? 0) << 8) | (seed[1] ?? 0),
      rto: {
        initialMs: options.initialTimeoutMs ?? Math.max(1000, 2 * (this.options.window + 1) * lineMs),
        minMs: 200 + 2 * lineMs,
        maxMs: 10_000 + this.options.window * lineMs,
      },
    });
    this.#framer = new LineFramer({ lineTimeoutMs: Math.max(1000, 4 * lineMs), clock: this.clock });
    this.offersBinary = link.kind === 'ble' && options.binaryFraming !== false;
    this.#framer.on('data', (line: Buffer) => this.#onLine(line));
    this.#framer.on('frame', (bytes: Buffer) => this.#onBinaryFrame(bytes));
    this.#framer.on('error', (err: Error) => this.fail(toCtopError(err)));
    this.#watch = options.watch;
    this.#watch?.onEnd((err) => this.fail(err));
    this.#watch?.linkOpen();
    // The read ended while this link was being opened: the link has nothing left to do.
    if (this.#watch?.ended) this.fail(this.#watch.ended);
    void this.#pump();
  }

  get state(): SessionState {
    return this.sessionState;
  }

  /** How frames travel on this link: lines (§2) or binary (§13.4, once the lock accepted). */
  get framing(): 'line' | 'binary' {
    return this.#binary ? 'binary' : 'line';
  }

  /** Rejects with the failure once the session has ended (its link dropped, the read's deadline). */
  get ended(): Promise<never> {
    return this.#ended;
  }

  /**
   * Ends the session and closes its link. A link that never confirms its close (a driver
   * stuck below us) is given up after LINK_CLOSE_WAIT_MS: the read it ended must return.
   */
  async close(): Promise<void> {
    this.fail(new CtopError('E_TRANSPORT_CLOSED', 'session closed', { details: { canceled: true } }));
    await withTimeout(this.clock, this.link.close(), LINK_CLOSE_WAIT_MS).catch((err: unknown) => {
      if (!(err instanceof ClockTimeout)) throw err;
    });
  }

  /** The lock's info once the session is in `state`; throws E_LOCK_STATE before. */
  protected expect(state: SessionState, operation: string): LockInfo {
    if (this.#failure) throw this.#failure;
    if (this.sessionState < state || this.sessionState === SessionState.Closed) {
      throw new CtopError(
        'E_LOCK_STATE',
        `${operation}() needs session state ${state}, is ${this.sessionState}`,
      );
    }
    if (state !== SessionState.Opening && !this.lockInfo) throw new CtopError('E_LOCK_STATE', 'no lock info');
    return this.lockInfo as LockInfo;
  }

  /** The session has ended (a fatal error, BYE or close()). */
  protected get failed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Sends one request and waits for its response, retransmitting with a fresh sequence
   * number on timeout (a late answer to the old one is then recognised and dropped). A
   * BUSY answer waits the time the lock asks for and counts as an attempt.
   */
  protected async request<T extends MessageTypeCode>(
    type: T,
    body: BodyOf<T>,
    version = this.protocolVersion,
    retries = this.options.retries,
  ): Promise<MessageOf<ResponseOf<T>>> {
    const firstSentAt = this.clock.monotonic();
    for (let attempt = 0; ; attempt++) {
      if (this.#failure) throw this.#failure;
      const seq = this.#matcher.nextSeq();
      const frame = encodeMessage(type, seq, body, version);
      const response = this.#matcher.wait(seq, type, attempt === 0);
      // A close while the write is pending rejects `response` before anything awaits it; the
      // write then fails and `response` is never awaited: without this, an unhandled rejection.
      response.catch(() => undefined);
      try {
        // The session's end ends the wait for the write too, should a transport's write not
        // settle when its link closes (link.ts says it must).
        const written = this.link.write(this.#binary ? frame.toBuffer() : frame.toLine());
        written.catch(() => undefined);
        await Promise.race([written, this.#ended]);
        this.stats.framesOut++;
        // #onLine resolves only with the response type of the pending request type.
        return (await response) as MessageOf<ResponseOf<T>>;
      } catch (err) {
        this.#matcher.forget(seq);
        const busy = isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.Busy;
        if (!(err instanceof RequestTimeout) && !busy) throw toCtopError(err, 'E_LOCK_DISCONNECTED');
        if (attempt >= retries) {
          throw this.fail(busy ? (err as CtopError) : this.#unanswered(type, attempt + 1, firstSentAt));
        }
        if (busy) {
          await clockSleep(this.clock, Math.min(Number((err as CtopError).details.retryMs ?? 100), 5000));
        } else {
          this.#matcher.abandoned(seq, (err as RequestTimeout).overtaken);
          this.stats.retransmits++;
          this.log.debug({ type: MESSAGE_NAMES[type], seq, attempt }, 'request timed out, retransmitting');
        }
      }
    }
  }

  /** Ends the session: every pending request fails with `err`; returns it for `throw`. */
  protected fail(err: CtopError): CtopError {
    if (this.#failure) return this.#failure;
    this.#failure = err;
    this.sessionState = SessionState.Closed;
    this.#matcher.failAll(err);
    this.#endNow?.(err);
    this.#framer.destroy();
    if (!err.details.canceled) {
      this.log.debug({ code: err.code }, `session ended: ${err.message}`);
      void this.link.close();
    }
    return err;
  }

  /**
   * The error for a request that got no usable answer. If the lock kept answering with
   * malformed frames, that is the real cause and more useful to an operator than a timeout.
   */
  #unanswered(type: MessageTypeCode, attempts: number, since: number): CtopError {
    const frameError = this.#lastFrameError;
    const details = { type: MESSAGE_NAMES[type], attempts, timeoutMs: Math.round(this.#matcher.timeoutMs) };
    if (frameError && frameError.at >= since) {
      return new CtopError(
        frameError.error.code,
        `${MESSAGE_NAMES[type]} got only malformed answers: ${frameError.error.message}`,
        { cause: frameError.error, details: { ...frameError.error.details, ...details } },
      );
    }
    return new CtopError('E_LOCK_TIMEOUT', `${MESSAGE_NAMES[type]} unanswered after ${attempts} attempts`, {
      details,
    });
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const bytes = await this.link.read();
        this.stats.bytesIn += bytes.byteLength;
        this.#framer.write(bytes);
      }
    } catch (err) {
      this.fail(toCtopError(err, 'E_LOCK_DISCONNECTED'));
    }
  }

  #onLine(line: Buffer): void {
    let frame: Frame | undefined;
    try {
      frame = Frame.fromLine(line);
    } catch (err) {
      this.#dropFrame(err, line.byteLength);
      return;
    }
    if (!frame) {
      // A few boot-banner lines are normal; a stream of them is a device drowning the link.
      if (++this.stats.noiseLines > this.options.maxNoiseLines) {
        this.fail(
          new CtopError('E_LOCK_PROTOCOL', `${this.stats.noiseLines} lines without a frame marker: flooded`, {
            details: { noiseLines: this.stats.noiseLines },
          }),
        );
      }
      return;
    }
    this.#onFrame(frame, line.byteLength);
  }

  /**
   * A frame of the binary stream (§13.4). One that fails the checks of §3 (CRC, version,
   * length) leaves no boundary to trust: the session ends, and the read goes on over a new link.
   */
  #onBinaryFrame(bytes: Buffer): void {
    let frame: Frame;
    try {
      frame = Frame.fromBuffer(bytes);
    } catch (err) {
      const e = toCtopError(err, 'E_FRAME_BODY');
      this.#dropFrame(e, bytes.byteLength);
      this.fail(
        new CtopError(e.code, `binary stream broken, the link is ended: ${e.message}`, {
          cause: e,
          details: e.details,
        }),
      );
      return;
    }
    this.#onFrame(frame, bytes.byteLength);
  }

  #onFrame(frame: Frame, wireBytes: number): void {
    const pending = this.#matcher.pending(frame.seq);
    let message: AnyMessage;
    try {
      message = decodeMessage(frame);
    } catch (err) {
      // The CRC held, so the sequence number is trustworthy: fail that request at once
      // instead of letting it time out.
      this.#dropFrame(err, wireBytes);
      if (pending) {
        this.#matcher.forget(frame.seq);
        pending.reject(toCtopError(err));
      }
      return;
    }
    if (message.type === MessageType.HelloResponse && message.body.bin === true && !this.#binary) {
      // The lock's next byte is binary: switch here, at this line's LF, whether or not this
      // answer is the one awaited (a late answer to a HELLO sent again switched the lock too).
      if (!this.offersBinary) {
        this.fail(
          new CtopError('E_LOCK_PROTOCOL', 'the lock switched to binary framing, which was not offered', {
            details: { link: this.link.kind },
          }),
        );
        return;
      }
      this.#binary = true;
      this.#framer.binary();
    }
    if (!pending) {
      this.#unmatched(frame);
      return;
    }
    this.stats.framesIn++;
    this.#matcher.answered(frame.seq, pending);
    this.#watch?.answered();
    if (message.type === MessageType.Error) {
      const { code, msg, retry, v } = message.body;
      pending.reject(
        new CtopError(
          'E_LOCK_REFUSED',
          `lock refused ${MESSAGE_NAMES[pending.kind]}: ${wireErrorName(code)}${msg ? ` (${msg})` : ''}`,
          {
            details: {
              wireCode: code,
              wireError: wireErrorName(code),
              retryMs: retry,
              versions: v,
              staged: message.body.staged,
            },
          },
        ),
      );
    } else if (message.type !== (pending.kind | RESPONSE_BIT)) {
      pending.reject(
        new CtopError('E_LOCK_PROTOCOL', `${MESSAGE_NAMES[pending.kind]} answered with ${frame.typeName}`, {
          details: { request: MESSAGE_NAMES[pending.kind], response: frame.typeName },
        }),
      );
    } else {
      pending.resolve(message);
    }
  }

  #dropFrame(err: unknown, wireBytes: number): void {
    const e = toCtopError(err, 'E_FRAME_BODY');
    this.#lastFrameError = { error: e, at: this.clock.monotonic() };
    if (e.code === 'E_FRAME_CRC') this.stats.crcErrors++;
    else this.stats.badFrames++;
    this.log.warn({ ...e.toLog(), wireBytes, framing: this.framing }, `dropped a frame: ${e.message}`);
    this.#watch?.malformed(e);
  }

  /** A frame matching no pending request: late answers are expected; replays and strays are counted and bounded. */
  #unmatched(frame: Frame): void {
    const kind = this.#matcher.classify(frame.seq);
    if (kind === 'late') {
      this.stats.late++;
      return;
    }
    const replay = kind === 'replay';
    if (replay) this.stats.replays++;
    else this.stats.strays++;
    const code = replay ? 'E_FRAME_REPLAY' : 'E_FRAME_SEQ';
    const count = this.stats.replays + this.stats.strays;
    this.log.warn(
      { code, seq: frame.seq, type: frame.typeName, count },
      replay ? 'dropped a replayed frame' : 'dropped a frame matching no request',
    );
    this.#watch?.unmatched(kind);
    if (count > this.options.maxStrayFrames) {
      this.fail(
        new CtopError(code, `${count} replayed or unmatched frames in one session`, {
          details: { replays: this.stats.replays, strays: this.stats.strays },
        }),
      );
    }
  }
}
