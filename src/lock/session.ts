import { randomBytes } from 'node:crypto';
import { type Clock, type ClockTimer, clockSleep, clockTimeout, systemClock } from '../clock.js';
import { CtopError, isCtopError, toCtopError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import {
  MAX_CHUNK,
  MAX_LINE,
  MESSAGE_NAMES,
  MessageType,
  PROTOCOL_VERSION,
  RESPONSE_BIT,
  SUPPORTED_VERSIONS,
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
import { eventFromWire, type LockEvent } from './event-log.js';
import { authPayload, carrierAuthPayload, verifySignature } from './identity.js';
import type { ManifestAssembly } from './manifest-assembly.js';
import { RetransmitTimer } from './rto.js';
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

/** The lock's event-log head after a carrier operation (COMMIT_R, SEAL_R, UNSEAL_R). */
export interface ChainHead {
  ecount: number;
  ehead: Uint8Array;
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

export interface AuthProof {
  nonce: Uint8Array;
  signature: Uint8Array;
}

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

interface Pending {
  type: MessageTypeCode;
  /** Position in send order: a lock answers in order, so an answer to a later request means this one was lost. */
  order: number;
  sentAt: number;
  firstTransmission: boolean;
  timer: ClockTimer | undefined;
  resolve: (m: MessageOf<MessageTypeCode>) => void;
  reject: (e: Error) => void;
}

class RequestTimeout extends Error {
  /** True when a later request was answered first: a loss, found without waiting. */
  constructor(readonly overtaken = false) {
    super('request timed out');
  }
}

/** How many answered/abandoned sequence numbers are remembered to classify strays. */
const SEQ_MEMORY = 256;

/**
 * The gateway side of one conversation with a lock over one link (PROTOCOL.md §9):
 * HELLO, AUTH, windowed READ, EVENTS, BYE. It frames lines, matches responses to requests
 * by sequence number, retransmits on timeout and counts everything odd a lock does. It
 * never knows which transport it rides. One session per link: after a fatal error or a
 * dropped link, the reader opens a new link and a new session and resumes.
 */
export class LockSession {
  readonly stats: SessionStats = emptySessionStats();

  readonly #link: LockLink;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: (n: number) => Uint8Array;
  readonly #options: Required<Omit<SessionOptions, 'log' | 'clock' | 'randomBytes' | 'initialTimeoutMs'>>;
  readonly #framer: LineFramer;
  readonly #rto: RetransmitTimer;
  readonly #pending = new Map<number, Pending>();
  readonly #answered = new SeqMemory(SEQ_MEMORY);
  readonly #abandoned = new SeqMemory(SEQ_MEMORY);
  #seq: number;
  #order = 0;
  /** When the last answer arrived: requests queued behind others are timed from here. */
  #lastAnswerAt = 0;
  #lastBackoffAt = 0;
  /** The last frame dropped as malformed, and when: the likely reason a request went unanswered. */
  #lastFrameError: { error: CtopError; at: number } | undefined;
  #version = PROTOCOL_VERSION;
  #state = SessionState.Opening;
  #failure: CtopError | undefined;
  #info: LockInfo | undefined;
  /** Set by a successful CARRIER_AUTH; WRITE, COMMIT, SEAL and UNSEAL need it. */
  #carrierKid: string | undefined;

  constructor(link: LockLink, options: SessionOptions) {
    this.#link = link;
    this.#log = (options.log ?? silentLogger).child({ component: 'lock-session', endpoint: link.endpoint });
    this.#clock = options.clock ?? systemClock;
    this.#random = options.randomBytes ?? ((n) => randomBytes(n));
    this.#options = {
      gatewayId: options.gatewayId,
      window: options.window ?? 8,
      chunk: Math.min(options.chunk ?? MAX_CHUNK, MAX_CHUNK),
      retries: options.retries ?? 4,
      maxManifestBytes: options.maxManifestBytes ?? 256 * 1024,
      maxEvents: options.maxEvents ?? 4096,
      maxStrayFrames: options.maxStrayFrames ?? 32,
      maxNoiseLines: options.maxNoiseLines ?? 256,
    };
    const seed = this.#random(2);
    this.#seq = ((seed[0] ?? 0) << 8) | (seed[1] ?? 0);

    // Timeouts scale with the time one full line takes on this link.
    const lineMs = link.bytesPerSecond ? (MAX_LINE * 1000) / link.bytesPerSecond : 50;
    this.#rto = new RetransmitTimer({
      initialMs: options.initialTimeoutMs ?? Math.max(1000, 2 * (this.#options.window + 1) * lineMs),
      minMs: 200 + 2 * lineMs,
      maxMs: 10_000 + this.#options.window * lineMs,
    });
    this.#framer = new LineFramer({ lineTimeoutMs: Math.max(1000, 4 * lineMs), clock: this.#clock });
    this.#framer.on('data', (line: Buffer) => this.#onLine(line));
    this.#framer.on('error', (err: Error) => this.#fail(toCtopError(err)));
    void this.#pump();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The lock's INFO as of HELLO or the last refreshInfo(). */
  get info(): LockInfo | undefined {
    return this.#info;
  }

  get version(): number {
    return this.#version;
  }

  /** The window and chunk actually used: ours capped by what the lock announced. */
  get transfer(): { window: number; chunk: number } {
    return {
      window: Math.max(1, Math.min(this.#options.window, this.#info?.win ?? 1)),
      chunk: Math.min(this.#options.chunk, this.#info?.chunk ?? MAX_CHUNK),
    };
  }

  /** HELLO: agrees on the protocol version and learns who the lock says it is. */
  async hello(): Promise<LockInfo> {
    this.#expect(SessionState.Opening, 'hello');
    let response: MessageOf<MessageType.HelloResponse>;
    try {
      // HELLO always travels as version 1 so that any lock can parse it (PROTOCOL.md §6).
      response = await this.#request(
        MessageType.Hello,
        { v: [...SUPPORTED_VERSIONS], gw: this.#options.gatewayId },
        1,
      );
    } catch (err) {
      if (isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.Version) {
        throw this.#fail(
          new CtopError(
            'E_LOCK_VERSION',
            `the lock speaks protocol versions ${JSON.stringify(err.details.versions)}`,
            {
              details: { ours: SUPPORTED_VERSIONS, theirs: err.details.versions },
            },
          ),
        );
      }
      throw err;
    }
    const { v, ...info } = response.body;
    if (!SUPPORTED_VERSIONS.includes(v)) {
      throw this.#fail(
        new CtopError('E_LOCK_VERSION', `the lock chose version ${v}, which we did not offer`, {
          details: { v },
        }),
      );
    }
    this.#version = v;
    this.#checkInfo(info);
    this.#state = SessionState.Ready;
    this.#log.debug(
      { lockId: info.id, fw: info.fw, msize: info.msize, ecount: info.ecount },
      'lock said hello',
    );
    return info;
  }

  async refreshInfo(): Promise<LockInfo> {
    this.#expect(SessionState.Ready, 'refreshInfo');
    const { body } = await this.#request(MessageType.Info, {});
    if (this.#info && body.id !== this.#info.id) {
      throw this.#fail(
        new CtopError('E_LOCK_PROTOCOL', `lock id changed from ${this.#info.id} to ${body.id}`),
      );
    }
    this.#checkInfo(body);
    return body;
  }

  /**
   * AUTH: the lock signs our fresh nonce together with the manifest hash and event head it
   * announced. A lock that cannot is a clone; so is one whose key differs from the key
   * pinned for its id.
   */
  async authenticate(pinnedKey?: Uint8Array): Promise<AuthProof> {
    const info = this.#expect(SessionState.Ready, 'authenticate');
    if (pinnedKey && !Buffer.from(pinnedKey).equals(info.key)) {
      throw this.#fail(
        new CtopError(
          'E_LOCK_CLONED',
          `lock ${info.id} presents an identity key different from the pinned one`,
          {
            details: { lockId: info.id, presented: Buffer.from(info.key).toString('hex') },
          },
        ),
      );
    }
    const nonce = this.#random(32);
    const { body } = await this.#request(MessageType.Auth, { nonce });
    const payload = authPayload({
      lockId: info.id,
      nonce,
      manifestHash: info.mhash,
      eventHead: info.ehead,
      eventCount: info.ecount,
    });
    if (!verifySignature(payload, body.sig, info.key)) {
      throw this.#fail(
        new CtopError('E_LOCK_CLONED', `lock ${info.id} failed to sign the challenge with its identity key`, {
          details: { lockId: info.id },
        }),
      );
    }
    this.#state = SessionState.Authenticated;
    return { nonce, signature: body.sig };
  }

  /**
   * Reads what `assembly` still lacks, from its verified prefix on, with a window of READ
   * requests in flight. Progress is reported after every chunk.
   */
  async readManifest(
    assembly: ManifestAssembly,
    onChunk?: (assembly: ManifestAssembly) => void,
  ): Promise<void> {
    const info = this.#expect(SessionState.Authenticated, 'readManifest');
    if (!assembly.matches(info.msize, info.mhash)) {
      throw new CtopError('E_LOCK_STATE', 'the assembly belongs to another manifest than the lock announces');
    }
    assembly.dropUnverified();
    const { window, chunk } = this.transfer;
    let next = assembly.verifiedBytes;
    let inFlight = 0;
    let firstError: Error | undefined;
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        if (firstError) {
          if (inFlight === 0) reject(firstError);
          return;
        }
        while (inFlight < window && next < info.msize) {
          const off = next;
          const len = Math.min(chunk, info.msize - off);
          next += len;
          inFlight++;
          this.#readChunk(off, len).then(
            (data) => {
              inFlight--;
              if (!firstError) {
                assembly.accept(off, data);
                onChunk?.(assembly);
              }
              pump();
            },
            (err: Error) => {
              inFlight--;
              firstError ??= err;
              pump();
            },
          );
        }
        if (inFlight === 0 && next >= info.msize) resolve();
      };
      pump();
    }).catch((err: Error) => {
      throw this.#fail(toCtopError(err));
    });
  }

  async #readChunk(off: number, len: number): Promise<Uint8Array> {
    const { body } = await this.#request(MessageType.Read, { off, len });
    if (body.off !== off || body.data.byteLength !== len) {
      throw new CtopError(
        'E_LOCK_PROTOCOL',
        `READ [${off}, +${len}) answered with [${body.off}, +${body.data.byteLength})`,
        { details: { off, len, answeredOff: body.off, answeredLen: body.data.byteLength } },
      );
    }
    return body.data;
  }

  /** EVENTS: the whole log from `from` on, as many requests as it takes. */
  async readEvents(from = 1): Promise<LockEvent[]> {
    const info = this.#expect(SessionState.Authenticated, 'readEvents');
    const events: LockEvent[] = [];
    let next = from;
    while (next <= info.ecount) {
      const { body } = await this.#request(MessageType.Events, { from: next, max: 64 });
      if (body.ev.length === 0) break;
      const last = body.ev[body.ev.length - 1]![0];
      if (last < next) {
        throw this.#fail(
          new CtopError('E_LOCK_PROTOCOL', `EVENTS from ${next} answered with events up to ${last}`),
        );
      }
      if (events.length + body.ev.length > this.#options.maxEvents) {
        throw this.#fail(
          new CtopError('E_LOCK_OVERSIZE', `the lock sends more than ${this.#options.maxEvents} events`, {
            details: { limit: this.#options.maxEvents },
          }),
        );
      }
      for (const wire of body.ev) events.push(eventFromWire(wire));
      next = last + 1;
    }
    return events;
  }

  /**
   * CHALLENGE and CARRIER_AUTH (PROTOCOL.md §5.3): the carrier proves it holds a key the
   * lock has provisioned, which allows WRITE, COMMIT, SEAL and UNSEAL in this session.
   * `sign` signs the payload with the carrier key, so the key itself never reaches the
   * session. A refusal is E_PAIRING_CARRIER_AUTH.
   */
  async carrierAuthenticate(kid: string, sign: (payload: Uint8Array) => Uint8Array): Promise<void> {
    const info = this.#expect(SessionState.Ready, 'carrierAuthenticate');
    const { body } = await this.#request(MessageType.Challenge, {});
    try {
      await this.#request(MessageType.CarrierAuth, {
        kid,
        sig: sign(carrierAuthPayload(info.id, body.nonce)),
      });
    } catch (err) {
      if (isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.AuthFailed) {
        throw new CtopError(
          'E_PAIRING_CARRIER_AUTH',
          `lock ${info.id} refused carrier key ${kid}: ${err.message}`,
          { cause: err, details: { lockId: info.id, kid } },
        );
      }
      throw err;
    }
    this.#carrierKid = kid;
  }

  /** The carrier key id this session is authorized with, if any. */
  get carrierKid(): string | undefined {
    return this.#carrierKid;
  }

  /** WRITE one chunk into the lock's staging area; resolves with the contiguous bytes staged. */
  async writeChunk(off: number, data: Uint8Array): Promise<number> {
    this.#expectCarrier('writeChunk');
    const { body } = await this.#request(MessageType.Write, { off, data });
    return body.staged;
  }

  /** COMMIT: the lock checks size and SHA-256 of the staged bytes and switches to them atomically. */
  async commitManifest(size: number, hash: Uint8Array): Promise<ChainHead> {
    this.#expectCarrier('commitManifest');
    return (await this.#request(MessageType.Commit, { size, hash })).body;
  }

  /** SEAL for a container (ISO 6346): the lock appends a `sealed` event. */
  async seal(time: number, container: string): Promise<ChainHead> {
    this.#expectCarrier('seal');
    return (await this.#request(MessageType.Seal, { t: time, ref: container })).body;
  }

  /** UNSEAL, authenticated and logged with its reason (at most 64 bytes of UTF-8). */
  async unseal(time: number, reason: string): Promise<ChainHead> {
    this.#expectCarrier('unseal');
    return (await this.#request(MessageType.Unseal, { t: time, reason })).body;
  }

  #expectCarrier(operation: string): void {
    this.#expect(SessionState.Ready, operation);
    if (this.#carrierKid === undefined) {
      throw new CtopError('E_LOCK_STATE', `${operation}() needs carrierAuthenticate() first`);
    }
  }

  /** BYE, best effort, then close. */
  async bye(): Promise<void> {
    if (this.#state !== SessionState.Closed && !this.#failure) {
      try {
        await this.#request(MessageType.Bye, {}, undefined, 0);
      } catch (err) {
        this.#log.debug({ code: toCtopError(err).code }, 'BYE not answered');
      }
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.#fail(new CtopError('E_TRANSPORT_CLOSED', 'session closed', { details: { canceled: true } }));
    await this.#link.close();
  }

  #checkInfo(info: LockInfo): void {
    if (info.msize > this.#options.maxManifestBytes) {
      throw this.#fail(
        new CtopError('E_LOCK_OVERSIZE', `lock ${info.id} announces a manifest of ${info.msize} bytes`, {
          details: { lockId: info.id, size: info.msize, limit: this.#options.maxManifestBytes },
        }),
      );
    }
    if (info.ecount > this.#options.maxEvents) {
      throw this.#fail(
        new CtopError('E_LOCK_OVERSIZE', `lock ${info.id} announces ${info.ecount} events`, {
          details: { lockId: info.id, count: info.ecount, limit: this.#options.maxEvents },
        }),
      );
    }
    this.#info = info;
  }

  #expect(state: SessionState, operation: string): LockInfo {
    if (this.#failure) throw this.#failure;
    if (this.#state < state || this.#state === SessionState.Closed) {
      throw new CtopError('E_LOCK_STATE', `${operation}() needs session state ${state}, is ${this.#state}`);
    }
    if (state !== SessionState.Opening && !this.#info) throw new CtopError('E_LOCK_STATE', 'no lock info');
    return this.#info as LockInfo;
  }

  /**
   * Sends one request and waits for its response, retransmitting with a fresh sequence
   * number on timeout (a late answer to the old one is then recognised and dropped). A
   * BUSY answer waits the time the lock asks for and counts as an attempt.
   */
  async #request<T extends MessageTypeCode>(
    type: T,
    body: BodyOf<T>,
    version = this.#version,
    retries = this.#options.retries,
  ): Promise<MessageOf<ResponseOf<T>>> {
    const firstSentAt = this.#clock.monotonic();
    for (let attempt = 0; ; attempt++) {
      if (this.#failure) throw this.#failure;
      const seq = this.#seq;
      this.#seq = (this.#seq + 1) & 0xffff;
      const frame = encodeMessage(type, seq, body, version);
      const response = this.#await(seq, type, attempt === 0);
      // A close while the write is pending rejects `response` before anything awaits it; the
      // write then fails and `response` is never awaited: without this, an unhandled rejection.
      response.catch(() => undefined);
      try {
        await this.#link.write(frame.toLine());
        this.stats.framesOut++;
        // #onLine resolves only with the response type of the pending request type.
        return (await response) as MessageOf<ResponseOf<T>>;
      } catch (err) {
        this.#forget(seq);
        const busy = isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.Busy;
        if (!(err instanceof RequestTimeout) && !busy) throw toCtopError(err, 'E_LOCK_DISCONNECTED');
        if (attempt >= retries) {
          throw this.#fail(busy ? (err as CtopError) : this.#unanswered(type, attempt + 1, firstSentAt));
        }
        if (busy) {
          await clockSleep(this.#clock, Math.min(Number((err as CtopError).details.retryMs ?? 100), 5000));
        } else {
          this.#abandoned.add(seq);
          // Back off once per silence, not once for every request of the window that timed
          // out with it; a loss detected by a later answer is no silence at all.
          const now = this.#clock.monotonic();
          if (!(err as RequestTimeout).overtaken && now - this.#lastBackoffAt >= this.#rto.timeoutMs) {
            this.#rto.backoff();
            this.#lastBackoffAt = now;
          }
          this.stats.retransmits++;
          this.#log.debug({ type: MESSAGE_NAMES[type], seq, attempt }, 'request timed out, retransmitting');
        }
      }
    }
  }

  /**
   * The error for a request that got no usable answer. If the lock kept answering with
   * malformed frames, that is the real cause and more useful to an operator than a timeout.
   */
  #unanswered(type: MessageTypeCode, attempts: number, since: number): CtopError {
    const frameError = this.#lastFrameError;
    const details = { type: MESSAGE_NAMES[type], attempts, timeoutMs: Math.round(this.#rto.timeoutMs) };
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

  #await(
    seq: number,
    type: MessageTypeCode,
    firstTransmission: boolean,
  ): Promise<MessageOf<MessageTypeCode>> {
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        type,
        order: this.#order++,
        sentAt: this.#clock.monotonic(),
        firstTransmission,
        timer: undefined,
        resolve,
        reject,
      };
      this.#pending.set(seq, pending);
      this.#arm(seq, pending);
    });
  }

  /**
   * (Re)starts a request's timer. Timers restart whenever the lock answers anything: with
   * a window in flight, a request waits behind the others, and only silence means loss.
   */
  #arm(seq: number, pending: Pending): void {
    pending.timer?.cancel();
    pending.timer = clockTimeout(this.#clock, () => this.#lose(seq, pending), this.#rto.timeoutMs);
  }

  #lose(seq: number, pending: Pending, overtaken = false): void {
    pending.timer?.cancel();
    this.#pending.delete(seq);
    pending.reject(new RequestTimeout(overtaken));
  }

  #forget(seq: number): void {
    const p = this.#pending.get(seq);
    p?.timer?.cancel();
    this.#pending.delete(seq);
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const bytes = await this.#link.read();
        this.stats.bytesIn += bytes.byteLength;
        this.#framer.write(bytes);
      }
    } catch (err) {
      this.#fail(toCtopError(err, 'E_LOCK_DISCONNECTED'));
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
      if (++this.stats.noiseLines > this.#options.maxNoiseLines) {
        this.#fail(
          new CtopError('E_LOCK_PROTOCOL', `${this.stats.noiseLines} lines without a frame marker: flooded`, {
            details: { noiseLines: this.stats.noiseLines },
          }),
        );
      }
      return;
    }
    const pending = this.#pending.get(frame.seq);
    let message: MessageOf<MessageTypeCode>;
    try {
      message = decodeMessage(frame);
    } catch (err) {
      // The CRC held, so the sequence number is trustworthy: fail that request at once
      // instead of letting it time out.
      this.#dropFrame(err, line.byteLength);
      if (pending) {
        this.#forget(frame.seq);
        pending.reject(toCtopError(err));
      }
      return;
    }
    if (!pending) {
      this.#stray(frame);
      return;
    }
    this.stats.framesIn++;
    this.#forget(frame.seq);
    this.#answered.add(frame.seq);
    const now = this.#clock.monotonic();
    // Karn: only first transmissions are sampled; the time spent queued behind earlier
    // requests is not the lock's service time.
    if (pending.firstTransmission) this.#rto.sample(now - Math.max(pending.sentAt, this.#lastAnswerAt));
    this.#lastAnswerAt = now;
    for (const [seq, other] of this.#pending) {
      // Answers come in request order: anything sent before this request is lost.
      if (other.order < pending.order) this.#lose(seq, other, true);
      else this.#arm(seq, other);
    }
    if (message.type === MessageType.Error) {
      const { code, msg, retry, v } = message.body;
      pending.reject(
        new CtopError(
          'E_LOCK_REFUSED',
          `lock refused ${MESSAGE_NAMES[pending.type]}: ${wireErrorName(code)}${msg ? ` (${msg})` : ''}`,
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
    } else if (message.type !== (pending.type | RESPONSE_BIT)) {
      pending.reject(
        new CtopError('E_LOCK_PROTOCOL', `${MESSAGE_NAMES[pending.type]} answered with ${frame.typeName}`, {
          details: { request: MESSAGE_NAMES[pending.type], response: frame.typeName },
        }),
      );
    } else {
      pending.resolve(message);
    }
  }

  #dropFrame(err: unknown, lineBytes: number): void {
    const e = toCtopError(err, 'E_FRAME_BODY');
    this.#lastFrameError = { error: e, at: this.#clock.monotonic() };
    if (e.code === 'E_FRAME_CRC') this.stats.crcErrors++;
    else this.stats.badFrames++;
    this.#log.warn({ ...e.toLog(), lineBytes }, `dropped a frame: ${e.message}`);
  }

  #stray(frame: Frame): void {
    if (this.#abandoned.has(frame.seq)) {
      this.stats.late++;
      return;
    }
    const replay = this.#answered.has(frame.seq);
    if (replay) this.stats.replays++;
    else this.stats.strays++;
    const code = replay ? 'E_FRAME_REPLAY' : 'E_FRAME_SEQ';
    const count = this.stats.replays + this.stats.strays;
    this.#log.warn(
      { code, seq: frame.seq, type: frame.typeName, count },
      replay ? 'dropped a replayed frame' : 'dropped a frame matching no request',
    );
    if (count > this.#options.maxStrayFrames) {
      this.#fail(
        new CtopError(code, `${count} replayed or unmatched frames in one session`, {
          details: { replays: this.stats.replays, strays: this.stats.strays },
        }),
      );
    }
  }

  /** Ends the session: every pending request fails with `err`; returns it for `throw`. */
  #fail(err: CtopError): CtopError {
    if (this.#failure) return this.#failure;
    this.#failure = err;
    this.#state = SessionState.Closed;
    for (const [seq, p] of this.#pending) {
      p.timer?.cancel();
      this.#pending.delete(seq);
      p.reject(err);
    }
    this.#framer.destroy();
    if (!err.details.canceled) {
      this.#log.debug({ code: err.code }, `session ended: ${err.message}`);
      void this.#link.close();
    }
    return err;
  }
}

/** A bounded set of recent sequence numbers. */
class SeqMemory {
  #order: number[] = [];
  #set = new Set<number>();
  constructor(readonly capacity: number) {}
  add(seq: number): void {
    if (this.#set.has(seq)) return;
    this.#set.add(seq);
    this.#order.push(seq);
    if (this.#order.length > this.capacity) this.#set.delete(this.#order.shift()!);
  }
  has(seq: number): boolean {
    return this.#set.has(seq);
  }
}
