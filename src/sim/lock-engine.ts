import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { type Clock, systemClock } from '../clock.js';
import { isCtopError } from '../errors.js';
import {
  MAX_CHUNK,
  MAX_EVENTS_PER_FRAME,
  MessageType,
  RESPONSE_BIT,
  SealState,
  SUPPORTED_VERSIONS,
  WireError,
} from '../lock/constants.js';
import { eventToWire, type LockEvent } from '../lock/event-log.js';
import type { Frame } from '../lock/frame.js';
import { authPayload, sha256, ZERO_HASH } from '../lock/identity.js';
import { type BodyOf, decodeMessage, encodeMessage, type LockInfo, type Message } from '../lock/messages.js';

export interface LockIdentity {
  publicKey: Uint8Array;
  /** 64-byte tweetnacl Ed25519 secret key. */
  secretKey: Uint8Array;
}

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
}

enum LockSessionState {
  Idle = 0,
  Open = 1,
}

/**
 * The protocol logic of a lock, as firmware would implement it (PROTOCOL.md §9, lock
 * side): one request frame in, one response frame out, no I/O and no timing. Transports,
 * pacing and fault injection wrap it (src/sim/simulated-lock.ts). Carrier operations
 * (WRITE/COMMIT/SEAL/UNSEAL) are specified but answered NOT_AUTHORIZED until carrier
 * pairing is implemented.
 */
export class LockEngine {
  readonly lockId: string;
  readonly #identity: LockIdentity;
  readonly #signingKey: Uint8Array;
  #manifest: Uint8Array;
  #manifestHash: Uint8Array;
  #events: LockEvent[];
  readonly #options: LockEngineOptions;
  readonly #clock: Clock;
  #state = LockSessionState.Idle;
  #version = 1;

  constructor(options: LockEngineOptions) {
    this.lockId = options.lockId;
    this.#identity = options.identity;
    this.#signingKey = options.signingKeyOverride ?? options.identity.secretKey;
    this.#manifest = options.manifest;
    this.#manifestHash = sha256(options.manifest);
    this.#events = options.events ?? [];
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  get manifest(): Uint8Array {
    return this.#manifest;
  }

  get events(): readonly LockEvent[] {
    return this.#events;
  }

  info(): LockInfo {
    const last = this.#events.at(-1);
    return {
      id: this.lockId,
      fw: this.#options.firmware ?? 'sim-1.0.0',
      key: this.#identity.publicKey,
      bat: this.#options.battery ?? 87,
      seal: this.#options.sealState ?? SealState.Sealed,
      msize: this.#options.announcedSizeOverride ?? this.#manifest.byteLength,
      mhash:
        this.#options.announcedHashOverride ??
        (this.#manifest.byteLength > 0 ? this.#manifestHash : ZERO_HASH),
      ecount: last?.counter ?? 0,
      ehead: last?.hash ?? ZERO_HASH,
      chunk: this.#options.chunk ?? MAX_CHUNK,
      win: this.#options.window ?? 8,
      time: Math.floor(this.#clock.now() / 1000),
      staged: 0,
    };
  }

  /** Handles one request frame; returns the response frame, or undefined to stay silent. */
  handle(frame: Frame): Frame | undefined {
    let request: Message;
    try {
      request = decodeMessage(frame);
    } catch (err) {
      const code = isCtopError(err, 'E_FRAME_TYPE') ? WireError.UnknownType : WireError.Malformed;
      return this.#error(frame.seq, code, isCtopError(err) ? err.message.slice(0, 128) : undefined);
    }
    if (request.type & RESPONSE_BIT) return undefined; // a lock never answers a response
    if (request.type !== MessageType.Hello && this.#state === LockSessionState.Idle) {
      return this.#error(request.seq, WireError.BadState, 'HELLO first');
    }
    switch (request.type) {
      case MessageType.Hello:
        return this.#hello(request.seq, request.body);
      case MessageType.Info:
        return this.#respond(MessageType.InfoResponse, request.seq, this.info());
      case MessageType.Auth:
        return this.#auth(request.seq, request.body);
      case MessageType.Read:
        return this.#read(request.seq, request.body);
      case MessageType.Events:
        return this.#eventsFrom(request.seq, request.body);
      case MessageType.Bye:
        this.#state = LockSessionState.Idle;
        return this.#respond(MessageType.ByeResponse, request.seq, {});
      default:
        return this.#error(request.seq, WireError.NotAuthorized, 'carrier authentication required');
    }
  }

  #hello(seq: number, body: BodyOf<MessageType.Hello>): Frame {
    const common = body.v.filter((v) => SUPPORTED_VERSIONS.includes(v));
    if (common.length === 0) {
      this.#version = 1;
      return this.#error(seq, WireError.Version, 'no common version', { v: [...SUPPORTED_VERSIONS] });
    }
    this.#version = Math.max(...common);
    this.#state = LockSessionState.Open;
    return this.#respond(MessageType.HelloResponse, seq, { ...this.info(), v: this.#version });
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
    const size = this.#manifest.byteLength;
    if (size === 0) return this.#error(seq, WireError.NoManifest);
    if (off >= size) return this.#error(seq, WireError.OutOfRange, `offset ${off} >= size ${size}`);
    const chunk = Math.min(len, this.#options.chunk ?? MAX_CHUNK, size - off);
    return this.#respond(MessageType.ReadResponse, seq, {
      off,
      data: this.#manifest.subarray(off, off + chunk),
    });
  }

  #eventsFrom(seq: number, { from, max }: BodyOf<MessageType.Events>): Frame {
    const selected = this.#events
      .filter((e) => e.counter >= from)
      .slice(0, Math.min(max, MAX_EVENTS_PER_FRAME));
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
