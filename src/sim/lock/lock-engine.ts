import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { type Clock, systemClock } from '../../clock.js';
import { isCtopError } from '../../errors.js';
import {
  EventKind,
  MAX_CHUNK,
  MAX_EVENTS_PER_FRAME,
  MessageType,
  RESPONSE_BIT,
  SealState,
  SUPPORTED_VERSIONS,
  WireError,
} from '../../lock/codec/constants.js';
import type { Frame } from '../../lock/codec/frame.js';
import {
  type BodyOf,
  decodeMessage,
  encodeMessage,
  type LockInfo,
  type Message,
} from '../../lock/codec/messages.js';
import { eventToWire, type LockEvent } from '../../lock/event-log.js';
import { authPayload, ZERO_HASH } from '../../lock/identity.js';
import { appendEvents } from './event-log-builder.js';
import { type Answer, LockCarrier } from './lock-carrier.js';
import { type CarrierKey, type EventEffect, LockFlash, PowerLoss } from './lock-flash.js';

export interface LockIdentity {
  publicKey: Uint8Array;
  /** 64-byte tweetnacl Ed25519 secret key. */
  secretKey: Uint8Array;
}

/**
 * Protocol mistakes a firmware could make, one per requirement of PROTOCOL.md §16, so the
 * conformance kit can be shown to catch each (test/conformance). Off by default.
 */
export interface LockQuirks {
  /** Answer a request repeating the seq of one just answered (breaks SESS-2). */
  answerDuplicates?: boolean;
  /** Stay silent on an unknown message type (breaks FRAME-3). */
  silentUnknownType?: boolean;
  /** Stay silent on a malformed body (breaks FRAME-4). */
  silentMalformed?: boolean;
  /** Serve requests before HELLO and after BYE (breaks SESS-3). */
  noSessionCheck?: boolean;
  /** Answer a READ past the end with no data instead of OUT_OF_RANGE (breaks READ-4). */
  lenientRange?: boolean;
  /** Send up to 64 events whatever `max` asks (breaks EV-1). */
  eventsIgnoreMax?: boolean;
  /** Answer a HELLO without a common version as if it offered 1 (breaks HELLO-2). */
  noVersionError?: boolean;
  /** Choose this version in HELLO_R instead of the highest common one (breaks HELLO-1). */
  helloVersion?: number;
  /** INFO announces one manifest byte more than HELLO did (breaks HELLO-3). */
  infoMismatch?: boolean;
  /** Serve READ only at the offset following the last one served since HELLO (breaks READ-2, READ-3). */
  sequentialReads?: boolean;
}

/** How many answered sequence numbers a session remembers to drop duplicates (PROTOCOL.md §9.2). */
const DUPLICATE_MEMORY = 16;

export interface LockEngineOptions {
  lockId: string;
  identity: LockIdentity;
  manifest: Uint8Array;
  events?: LockEvent[];
  firmware?: string;
  battery?: number;
  sealState?: SealState;
  /** Largest chunk served. Default MAX_CHUNK. */
  chunk?: number;
  /** Requests accepted in flight. Default 8. */
  window?: number;
  clock?: Clock;
  /**
   * What a counterfeit does: present `identity.publicKey` (copied from a genuine lock) but
   * sign with this other key, because the genuine secret never leaves the genuine lock.
   */
  signingKeyOverride?: Uint8Array;
  /** Announce this manifest hash instead of the real one (a lock whose flash rotted). */
  announcedHashOverride?: Uint8Array;
  /** Announce this manifest size instead of the real one (a hostile length field). */
  announcedSizeOverride?: number;
  /** Carrier keys provisioned in the lock: who may WRITE, COMMIT, SEAL and UNSEAL. */
  carrierKeys?: CarrierKey[];
  /** Largest manifest the lock holds (one flash bank). Default 256 KiB. */
  capacity?: number;
  /** Source of CHALLENGE nonces. */
  randomBytes?: (n: number) => Uint8Array;
  quirks?: LockQuirks;
}

enum LockSessionState {
  Idle = 0,
  Open = 1,
}

/** A session with no request for this long returns to IDLE (PROTOCOL.md §9.1). */
const IDLE_TIMEOUT_MS = 30_000;

/** What the link a request came on carries (PROTOCOL.md §13.4). */
export interface LinkFraming {
  /** The link could carry binary frames (BLE) and the lock firmware offers them. */
  binaryFraming?: boolean;
  /** The link already carries binary frames. */
  binary?: boolean;
  /** A faulty lock: switches on BLE though HELLO did not offer it (breaks BIN-1). */
  unasked?: boolean;
}

/**
 * The protocol logic of a lock, as firmware would implement it (PROTOCOL.md §9, lock
 * side): one request frame in, one response frame out, no I/O. Transports, pacing and
 * fault injection wrap it (src/sim/lock/simulated-lock.ts). What survives a power loss lives in
 * the flash model (lock-flash.ts); the carrier operations in lock-carrier.ts. The physical
 * world reaches the lock through openShackle(), detectTamper(), reportLowBattery() and the
 * power: a flash operation interrupted by `flash.cutPowerAfter()` leaves the lock off until
 * powerOn().
 */
export class LockEngine {
  readonly lockId: string;
  readonly flash: LockFlash;
  readonly #identity: LockIdentity;
  readonly #signingKey: Uint8Array;
  readonly #options: LockEngineOptions;
  readonly #clock: Clock;
  readonly #carrier: LockCarrier;
  #state = LockSessionState.Idle;
  #version = 1;
  #lastRequestAt = 0;
  #poweredOff = false;
  /** Sequence numbers answered in this session, newest last (duplicates are dropped). */
  #answered: number[] = [];
  /** The offset a sequentialReads lock expects next. */
  #nextRead = 0;

  constructor(options: LockEngineOptions) {
    this.lockId = options.lockId;
    this.#identity = options.identity;
    this.#signingKey = options.signingKeyOverride ?? options.identity.secretKey;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.flash = new LockFlash({
      manifest: options.manifest,
      events: options.events ?? [],
      sealState: options.sealState ?? SealState.Sealed,
      ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
      ...(options.carrierKeys ? { carrierKeys: options.carrierKeys } : {}),
    });
    const random = options.randomBytes ?? ((n: number) => randomBytes(n));
    this.#carrier = new LockCarrier({
      lockId: this.lockId,
      flash: this.flash,
      now: () => this.#clock.now(),
      random,
      log: (kind, detail, effect) => this.#log(kind, detail, effect),
      head: () => {
        const { ecount, ehead } = this.info();
        return { ecount, ehead };
      },
    });
  }

  get manifest(): Uint8Array {
    return this.flash.manifest;
  }

  get events(): readonly LockEvent[] {
    return this.flash.events;
  }

  /** True from a power loss until powerOn(): the lock answers nothing. */
  get poweredOff(): boolean {
    return this.#poweredOff;
  }

  info(): LockInfo {
    const last = this.flash.events.at(-1);
    const manifest = this.flash.manifest;
    return {
      id: this.lockId,
      fw: this.#options.firmware ?? 'sim-1.0.0',
      key: this.#identity.publicKey,
      bat: this.#options.battery ?? 87,
      seal: this.flash.sealState,
      msize: this.#options.announcedSizeOverride ?? manifest.byteLength,
      mhash:
        this.#options.announcedHashOverride ??
        (manifest.byteLength > 0 ? this.flash.manifestHash : ZERO_HASH),
      ecount: last?.counter ?? 0,
      ehead: last?.hash ?? ZERO_HASH,
      chunk: this.#options.chunk ?? MAX_CHUNK,
      win: this.#options.window ?? 8,
      time: Math.floor(this.#clock.now() / 1000),
      staged: this.flash.staged,
    };
  }

  /**
   * The shackle was opened without UNSEAL (PROTOCOL.md §12): on a sealed or already
   * tampered lock this appends an `opened` event and sets seal state 2, on battery backup
   * too, so it happens even while the lock is "off" for the protocol.
   */
  openShackle(): void {
    if (this.flash.sealState === SealState.Unsealed) return;
    this.#log(EventKind.Opened, new Uint8Array(0), { seal: { state: SealState.Tampered } });
  }

  /** A tamper sensor fired (case opened, drilling): a `tamper` event; a sealed lock counts as tampered. */
  detectTamper(detail: Uint8Array = new Uint8Array(0)): void {
    const effect: EventEffect =
      this.flash.sealState === SealState.Unsealed ? {} : { seal: { state: SealState.Tampered } };
    this.#log(EventKind.Tamper, detail, effect);
  }

  reportLowBattery(): void {
    this.#log(EventKind.LowBattery, new Uint8Array(0));
  }

  /** Power is back: RAM starts empty (no session, no challenge, no authorization); flash is as it was. */
  powerOn(): void {
    this.#poweredOff = false;
    this.endSession();
  }

  /** The link went away: the session and any carrier authorization end with it. */
  endSession(): void {
    this.#state = LockSessionState.Idle;
    this.#carrier.reset();
    this.#answered = [];
    this.#nextRead = 0;
  }

  get #quirks(): LockQuirks {
    return this.#options.quirks ?? {};
  }

  /**
   * Handles one request frame; returns the response frame, or undefined to stay silent.
   * `link` says what the link the frame came on can carry (PROTOCOL.md §13.4).
   */
  handle(frame: Frame, link: LinkFraming = {}): Frame | undefined {
    if (this.#poweredOff) return undefined;
    try {
      return this.#handle(frame, link);
    } catch (err) {
      if (!(err instanceof PowerLoss)) throw err;
      this.#poweredOff = true;
      this.endSession();
      return undefined;
    }
  }

  #handle(frame: Frame, link: LinkFraming): Frame | undefined {
    const now = this.#clock.monotonic();
    if (this.#state !== LockSessionState.Idle && now - this.#lastRequestAt > IDLE_TIMEOUT_MS) {
      this.endSession();
    }
    // A frame repeating a seq just answered is the same request again: answered once (§9.2).
    if (this.#answered.includes(frame.seq) && !this.#quirks.answerDuplicates) return undefined;
    const answer = this.#dispatch(frame, now, link);
    if (answer && this.#state !== LockSessionState.Idle) {
      this.#answered.push(frame.seq);
      if (this.#answered.length > DUPLICATE_MEMORY) this.#answered.shift();
    }
    return answer;
  }

  #dispatch(frame: Frame, now: number, link: LinkFraming): Frame | undefined {
    let request: Message;
    try {
      request = decodeMessage(frame);
    } catch (err) {
      const unknown = isCtopError(err, 'E_FRAME_TYPE');
      if (unknown ? this.#quirks.silentUnknownType : this.#quirks.silentMalformed) return undefined;
      const code = unknown ? WireError.UnknownType : WireError.Malformed;
      return this.#error(frame.seq, code, isCtopError(err) ? err.message.slice(0, 128) : undefined);
    }
    if (request.type & RESPONSE_BIT) return undefined; // a lock never answers a response
    this.#lastRequestAt = now;
    if (
      request.type !== MessageType.Hello &&
      this.#state === LockSessionState.Idle &&
      !this.#quirks.noSessionCheck
    ) {
      return this.#error(request.seq, WireError.BadState, 'HELLO first');
    }
    switch (request.type) {
      case MessageType.Hello:
        return this.#hello(request.seq, request.body, link);
      case MessageType.Info: {
        const info = this.info();
        if (this.#quirks.infoMismatch) info.msize++;
        return this.#respond(MessageType.InfoResponse, request.seq, info);
      }
      case MessageType.Auth:
        return this.#auth(request.seq, request.body);
      case MessageType.Read:
        return this.#read(request.seq, request.body);
      case MessageType.Events:
        return this.#eventsFrom(request.seq, request.body);
      case MessageType.Challenge:
        return this.#answer(MessageType.ChallengeResponse, request.seq, this.#carrier.challenge());
      case MessageType.CarrierAuth:
        return this.#answer(
          MessageType.CarrierAuthResponse,
          request.seq,
          this.#carrier.carrierAuth(request.body),
        );
      case MessageType.Write:
        return this.#answer(MessageType.WriteResponse, request.seq, this.#carrier.write(request.body));
      case MessageType.Commit:
        return this.#answer(MessageType.CommitResponse, request.seq, this.#carrier.commit(request.body));
      case MessageType.Seal:
        return this.#answer(MessageType.SealResponse, request.seq, this.#carrier.seal(request.body));
      case MessageType.Unseal:
        return this.#answer(MessageType.UnsealResponse, request.seq, this.#carrier.unseal(request.body));
      case MessageType.Bye:
        this.endSession();
        return this.#respond(MessageType.ByeResponse, request.seq, {});
      default:
        return this.#error(request.seq, WireError.UnknownType, 'not a request');
    }
  }

  #answer<T extends Parameters<typeof encodeMessage>[0]>(type: T, seq: number, answer: Answer<T>): Frame {
    if ('refusal' in answer) {
      const { code, msg, staged } = answer.refusal;
      return this.#error(seq, code, msg, staged === undefined ? {} : { staged });
    }
    return this.#respond(type, seq, answer.body);
  }

  /** Signs and appends one event (PROTOCOL.md §7) with its effect, in one flash record. */
  #log(kind: EventKind, detail: Uint8Array, effect?: EventEffect): void {
    const [event] = appendEvents(this.lockId, this.#signingKey, this.flash.events.slice(-1), [
      { kind, time: Math.floor(this.#clock.now() / 1000), detail },
    ]).slice(-1);
    this.flash.append(event!, effect);
  }

  #hello(seq: number, body: BodyOf<MessageType.Hello>, link: LinkFraming): Frame {
    const common = body.v.filter((v) => SUPPORTED_VERSIONS.includes(v));
    if (common.length === 0 && this.#quirks.noVersionError) common.push(1);
    if (common.length === 0) {
      this.#version = 1;
      return this.#error(seq, WireError.Version, 'no common version', { v: [...SUPPORTED_VERSIONS] });
    }
    this.#version = Math.max(...common);
    this.endSession();
    this.#state = LockSessionState.Open;
    // Binary framing: kept on a link already binary, accepted where offered and carried.
    const offered = body.bin === true || link.unasked === true;
    const binary = link.binary === true || (offered && link.binaryFraming === true);
    return this.#respond(MessageType.HelloResponse, seq, {
      ...this.info(),
      v: this.#quirks.helloVersion ?? this.#version,
      ...(binary ? { bin: true } : {}),
    });
  }

  #auth(seq: number, body: BodyOf<MessageType.Auth>): Frame {
    const info = this.info();
    const payload = authPayload({
      lockId: this.lockId,
      nonce: body.nonce,
      manifestHash: info.mhash,
      eventHead: info.ehead,
      eventCount: info.ecount,
    });
    return this.#respond(MessageType.AuthResponse, seq, {
      sig: nacl.sign.detached(payload, this.#signingKey),
    });
  }

  #read(seq: number, { off, len }: BodyOf<MessageType.Read>): Frame {
    const manifest = this.flash.manifest;
    const size = manifest.byteLength;
    if (size === 0) return this.#error(seq, WireError.NoManifest);
    if (off >= size && this.#quirks.lenientRange) {
      return this.#respond(MessageType.ReadResponse, seq, { off, data: new Uint8Array(0) });
    }
    if (off >= size) return this.#error(seq, WireError.OutOfRange, `offset ${off} >= size ${size}`);
    if (this.#quirks.sequentialReads && off !== this.#nextRead) {
      return this.#error(seq, WireError.OutOfRange, `expected offset ${this.#nextRead}`);
    }
    const chunk = Math.min(len, this.#options.chunk ?? MAX_CHUNK, size - off);
    this.#nextRead = off + chunk;
    return this.#respond(MessageType.ReadResponse, seq, {
      off,
      data: manifest.subarray(off, off + chunk),
    });
  }

  #eventsFrom(seq: number, { from, max }: BodyOf<MessageType.Events>): Frame {
    const selected = this.flash.events
      .filter((e) => e.counter >= from)
      .slice(0, this.#quirks.eventsIgnoreMax ? MAX_EVENTS_PER_FRAME : Math.min(max, MAX_EVENTS_PER_FRAME));
    // Return as many as fit one frame; the gateway asks again from the next counter.
    for (let n = selected.length; n >= 0; n--) {
      try {
        return this.#respond(MessageType.EventsResponse, seq, {
          ev: selected.slice(0, n).map(eventToWire),
          count: this.info().ecount,
        });
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
      }
    }
    return this.#error(seq, WireError.Internal, 'event too large');
  }

  #respond<T extends Parameters<typeof encodeMessage>[0]>(type: T, seq: number, body: BodyOf<T>): Frame {
    return encodeMessage(type, seq, body, this.#version);
  }

  #error(seq: number, code: WireError, msg?: string, extra: Partial<BodyOf<MessageType.Error>> = {}): Frame {
    return this.#respond(MessageType.Error, seq, { code, ...(msg ? { msg } : {}), ...extra });
  }
}

/** A fresh Ed25519 identity for a simulated lock. */
export function generateLockIdentity(seed: Uint8Array = randomBytes(32)): LockIdentity {
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return { publicKey: pair.publicKey, secretKey: pair.secretKey };
}
