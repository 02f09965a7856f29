import {
  EventKind,
  MAX_CHUNK,
  MAX_EVENT_DETAIL,
  type MessageType,
  SealState,
  WireError,
} from '../../lock/codec/constants.js';
import type { BodyOf } from '../../lock/codec/messages.js';
import { carrierAuthPayload, sha256, verifySignature } from '../../lock/identity.js';
import type { EventEffect, LockFlash } from './lock-flash.js';

/** Failed CARRIER_AUTH accepted per rolling hour (PROTOCOL.md §12). */
export const CARRIER_AUTH_FAILURES_PER_HOUR = 5;
const HOUR_MS = 3_600_000;

/** A refusal: the ERROR frame a carrier request is answered with. */
export interface Refusal {
  code: WireError;
  msg?: string;
  /** GAP: where WRITE must continue. */
  staged?: number;
}

export type Answer<T extends MessageType> = { body: BodyOf<T> } | { refusal: Refusal };

type ChainHead = BodyOf<MessageType.CommitResponse>;

/** What the carrier operations need from the lock around them. */
export interface CarrierContext {
  readonly lockId: string;
  readonly flash: LockFlash;
  /** Milliseconds, the lock's clock. */
  now(): number;
  random(n: number): Uint8Array;
  /** Signs and appends an event, with what it switches in the same flash record. */
  log(kind: EventKind, detail: Uint8Array, effect?: EventEffect): void;
  head(): ChainHead;
}

const refuse = (code: WireError, msg?: string, staged?: number): { refusal: Refusal } => ({
  refusal: { code, ...(msg ? { msg } : {}), ...(staged === undefined ? {} : { staged }) },
});

/**
 * The carrier side of a lock (PROTOCOL.md §5.3, §12): CHALLENGE, CARRIER_AUTH, then WRITE,
 * COMMIT, SEAL and UNSEAL for the authorized carrier. Session facts (the outstanding
 * challenge, who is authorized, what was just executed) are RAM: `reset()` forgets them on
 * HELLO, BYE, idle timeout and power loss. Everything that must survive goes through the
 * flash model.
 *
 * Retransmissions are safe: a gateway that lost an answer sends the request again with a
 * new sequence number, so a repeated CARRIER_AUTH, COMMIT, SEAL or UNSEAL that matches what
 * was just executed is answered again instead of refused, and appends nothing.
 */
export class LockCarrier {
  readonly #ctx: CarrierContext;
  #nonce: Uint8Array | undefined;
  #kid: string | undefined;
  #acceptedSig: Uint8Array | undefined;
  #lastUnseal: { t: number; reason: string } | undefined;

  constructor(ctx: CarrierContext) {
    this.#ctx = ctx;
  }

  /** The carrier key id authorized in this session, if any. */
  get authorizedKid(): string | undefined {
    return this.#kid;
  }

  reset(): void {
    this.#nonce = undefined;
    this.#kid = undefined;
    this.#acceptedSig = undefined;
    this.#lastUnseal = undefined;
  }

  challenge(): Answer<MessageType.ChallengeResponse> {
    // A new challenge ends any authorization: the carrier proves itself again.
    this.reset();
    this.#nonce = this.#ctx.random(32);
    return { body: { nonce: this.#nonce } };
  }

  carrierAuth({ kid, sig }: BodyOf<MessageType.CarrierAuth>): Answer<MessageType.CarrierAuthResponse> {
    const { flash, lockId } = this.#ctx;
    if (this.#kid === kid && this.#acceptedSig && Buffer.from(sig).equals(this.#acceptedSig)) {
      return { body: {} }; // the answer to the accepted one was lost
    }
    const nonce = this.#nonce;
    if (!nonce) return refuse(WireError.BadState, 'CHALLENGE first');
    this.#nonce = undefined; // one attempt per challenge
    const now = this.#ctx.now();
    if (flash.authFailuresSince(now - HOUR_MS) >= CARRIER_AUTH_FAILURES_PER_HOUR) {
      return refuse(WireError.AuthFailed, 'too many failed attempts; try again later');
    }
    const key = flash.carrierKey(kid);
    if (!key || !verifySignature(carrierAuthPayload(lockId, nonce), sig, key)) {
      flash.recordAuthFailure(now);
      return refuse(WireError.AuthFailed, key ? 'bad signature' : 'unknown carrier key');
    }
    this.#kid = kid;
    this.#acceptedSig = Uint8Array.from(sig);
    return { body: {} };
  }

  write({ off, data }: BodyOf<MessageType.Write>): Answer<MessageType.WriteResponse> {
    const { flash } = this.#ctx;
    const kid = this.#kid;
    if (kid === undefined) return refuse(WireError.NotAuthorized, 'carrier authentication required');
    if (flash.sealState === SealState.Sealed) return refuse(WireError.Sealed, 'the lock is sealed');
    if (data.byteLength > MAX_CHUNK) return refuse(WireError.OutOfRange, 'chunk too large');
    if (off + data.byteLength > flash.capacity) {
      return refuse(WireError.TooLarge, `the lock holds at most ${flash.capacity} bytes`);
    }
    if (off === 0) flash.emptyStaging();
    if (off > flash.staged) return refuse(WireError.Gap, `continue at ${flash.staged}`, flash.staged);
    if (!flash.stagingLogged) {
      this.#ctx.log(EventKind.Write, Buffer.from(kid, 'latin1').subarray(0, MAX_EVENT_DETAIL), {
        stagingLogged: true,
      });
    }
    flash.stage(off, data);
    return { body: { staged: flash.staged } };
  }

  commit({ size, hash }: BodyOf<MessageType.Commit>): Answer<MessageType.CommitResponse> {
    const { flash } = this.#ctx;
    if (this.#kid === undefined) return refuse(WireError.NotAuthorized, 'carrier authentication required');
    if (flash.sealState === SealState.Sealed) return refuse(WireError.Sealed, 'the lock is sealed');
    if (
      flash.staged === 0 &&
      flash.manifest.byteLength === size &&
      Buffer.from(flash.manifestHash).equals(hash)
    ) {
      return { body: this.#ctx.head() }; // already committed: a retransmission
    }
    if (size === 0 || size > flash.staged || !sha256(flash.stagedBytes(size)).equals(hash)) {
      return refuse(WireError.HashMismatch, `staged ${flash.staged} bytes do not match`);
    }
    flash.writeStagingHeader(size, hash);
    this.#ctx.log(EventKind.Commit, Buffer.from(hash).subarray(0, 8), { commit: true });
    return { body: this.#ctx.head() };
  }

  seal({ ref }: BodyOf<MessageType.Seal>): Answer<MessageType.SealResponse> {
    const { flash } = this.#ctx;
    if (this.#kid === undefined) return refuse(WireError.NotAuthorized, 'carrier authentication required');
    if (flash.sealState === SealState.Sealed) {
      if (flash.sealRef === ref) return { body: this.#ctx.head() }; // a retransmission
      return refuse(WireError.Sealed, 'sealed for another container');
    }
    const detail = Buffer.from(ref, 'utf8');
    if (detail.byteLength > MAX_EVENT_DETAIL) return refuse(WireError.Malformed, 'ref too long');
    this.#ctx.log(EventKind.Sealed, detail, { seal: { state: SealState.Sealed, ref } });
    return { body: this.#ctx.head() };
  }

  unseal({ t, reason }: BodyOf<MessageType.Unseal>): Answer<MessageType.UnsealResponse> {
    const { flash } = this.#ctx;
    if (this.#kid === undefined) return refuse(WireError.NotAuthorized, 'carrier authentication required');
    const detail = Buffer.from(reason, 'utf8');
    if (detail.byteLength > MAX_EVENT_DETAIL) return refuse(WireError.Malformed, 'reason over 64 bytes');
    if (flash.sealState === SealState.Unsealed) {
      const last = this.#lastUnseal;
      if (last && last.t === t && last.reason === reason) return { body: this.#ctx.head() };
      return refuse(WireError.NotSealed, 'the lock is not sealed');
    }
    this.#ctx.log(EventKind.Unsealed, detail, { seal: { state: SealState.Unsealed } });
    this.#lastUnseal = { t, reason };
    return { body: this.#ctx.head() };
  }
}
