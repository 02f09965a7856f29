import type { KeyObject } from 'node:crypto';
import { CtopError } from '../errors.js';
import { privateKeyObject, signEd25519, verifyEd25519 } from '../keys/ed25519.js';
import type { KeyRole, PrivateKey, SignatureCheck, SignedObject, TrustStore } from '../keys/index.js';

/**
 * Signing and checking the exchange messages with OpenSSL's Ed25519 (src/keys/ed25519.ts):
 * every message to the exchange is signed and every receipt verified, so on a 2-core
 * gateway draining a backlog of 10,000 manifests speed matters.
 */

export { verifyEd25519 };

/** Signs with a gateway or exchange key; holds the key as an OpenSSL KeyObject. */
export class Ed25519Signer {
  readonly kid: string;
  readonly role: KeyRole;
  readonly publicKey: Uint8Array;
  readonly #key: KeyObject;

  constructor(key: PrivateKey, role?: KeyRole) {
    if (key.alg !== 'Ed25519' || (role !== undefined && key.role !== role)) {
      throw new CtopError(
        'E_KEY_ROLE',
        `key ${key.kid} is a ${key.role} (${key.alg}) key; this needs ${role === undefined ? 'an Ed25519' : `a ${role}`} key`,
      );
    }
    this.kid = key.kid;
    this.role = key.role;
    this.publicKey = key.publicKey;
    this.#key = privateKeyObject(key.secretKey, key.publicKey);
  }

  sign(message: Uint8Array): Buffer {
    return signEd25519(message, this.#key);
  }
}

/** `TrustStore.verify` (OpenSSL since src/keys/ed25519.ts): signature, then validity and revocation at `signedAt`. */
export function verifySigned(trust: TrustStore, object: SignedObject): SignatureCheck {
  return trust.verify(object);
}
