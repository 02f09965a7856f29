import nacl from 'tweetnacl';
import { CtopError } from '../errors.js';
import type { KeyRole, PrivateKey } from './key-file.js';

/**
 * Ed25519 with the key files' 32-byte seed. tweetnacl wants the 64-byte expanded secret;
 * it is derived per call rather than cached so that no second copy of the secret lives
 * longer than the call.
 */
export function signDetached(key: PrivateKey, message: Uint8Array, role?: KeyRole): Uint8Array {
  if (key.alg !== 'Ed25519' || (role !== undefined && key.role !== role)) {
    throw new CtopError(
      'E_KEY_ROLE',
      `key ${key.kid} is a ${key.role} (${key.alg}) key; signing needs ${role === undefined ? 'an Ed25519' : `a ${role}`} key`,
    );
  }
  const expanded = nacl.sign.keyPair.fromSeed(key.secretKey).secretKey;
  try {
    return nacl.sign.detached(message, expanded);
  } finally {
    expanded.fill(0);
  }
}

/** False for any wrong length instead of throwing: callers treat it as a bad signature. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (
    signature.byteLength !== nacl.sign.signatureLength ||
    publicKey.byteLength !== nacl.sign.publicKeyLength
  ) {
    return false;
  }
  return nacl.sign.detached.verify(message, signature, publicKey);
}
