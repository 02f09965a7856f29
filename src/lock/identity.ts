import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { ByteWriter } from '../bytes.js';
import { encodeCanonical } from '../cbor/index.js';
import { verifyEd25519 } from '../keys/ed25519.js';
import { AUTH_CONTEXT, CARRIER_CONTEXT, EVENT_CONTEXT } from './codec/constants.js';

/**
 * The signed byte strings of the lock protocol (PROTOCOL.md §5 and §7), shared by the
 * agent (verifying) and the lock simulator (signing) so both sides build the same bytes.
 * Every payload starts with a context string and the lock id, so a signature made for one
 * purpose or one lock cannot be replayed for another.
 */

export const ZERO_HASH: Uint8Array = new Uint8Array(32);

export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function contextPrefix(context: string, lockId: string): ByteWriter {
  return new ByteWriter().ascii(context).u8(0).u8(lockId.length).ascii(lockId);
}

export interface AuthClaim {
  lockId: string;
  nonce: Uint8Array;
  manifestHash: Uint8Array;
  eventHead: Uint8Array;
  eventCount: number;
}

/** What the lock signs to answer AUTH: it binds the nonce to the manifest and event log it announced. */
export function authPayload(claim: AuthClaim): Buffer {
  return contextPrefix(AUTH_CONTEXT, claim.lockId)
    .bytes(claim.nonce)
    .bytes(claim.manifestHash)
    .bytes(claim.eventHead)
    .u32(claim.eventCount)
    .toBuffer();
}

/** What a carrier signs to be allowed to WRITE/COMMIT/SEAL/UNSEAL (PROTOCOL.md §5.3). */
export function carrierAuthPayload(lockId: string, nonce: Uint8Array): Buffer {
  return contextPrefix(CARRIER_CONTEXT, lockId).bytes(nonce).toBuffer();
}

export interface LockEventFields {
  counter: number;
  /** Unix seconds, lock clock. */
  time: number;
  kind: number;
  detail: Uint8Array;
  prev: Uint8Array;
}

/** SHA-256 of the deterministic CBOR array [counter, time, kind, detail, prev]. */
export function eventHash(e: LockEventFields): Buffer {
  return sha256(encodeCanonical([e.counter, e.time, e.kind, e.detail, e.prev]));
}

export function eventSignPayload(lockId: string, hash: Uint8Array): Buffer {
  return contextPrefix(EVENT_CONTEXT, lockId).bytes(hash).toBuffer();
}

/** OpenSSL's Ed25519 (src/keys/ed25519.ts): hundreds of checks per passing train. */
export function verifySignature(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return verifyEd25519(message, signature, publicKey);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(message, secretKey);
}
