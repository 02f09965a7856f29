import { CtopError } from '../errors.js';
import { privateKeyObject, signEd25519, verifyEd25519 } from './ed25519.js';
import type { KeyRole, PrivateKey } from './key-file.js';

/**
 * Ed25519 with the key files' 32-byte seed, through OpenSSL (./ed25519.ts). The key object
 * is made per call rather than cached so that no second copy of the secret lives longer
 * than the call.
 */
export function signDetached(key: PrivateKey, message: Uint8Array, role?: KeyRole): Uint8Array {
  if (key.alg !== 'Ed25519' || (role !== undefined && key.role !== role)) {
    throw new CtopError(
      'E_KEY_ROLE',
      `key ${key.kid} is a ${key.role} (${key.alg}) key; signing needs ${role === undefined ? 'an Ed25519' : `a ${role}`} key`,
    );
  }
  return new Uint8Array(signEd25519(message, privateKeyObject(key.secretKey, key.publicKey)));
}

/** False for any wrong length instead of throwing: callers treat it as a bad signature. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return verifyEd25519(message, signature, publicKey);
}
