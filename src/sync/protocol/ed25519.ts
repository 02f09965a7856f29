import type { KeyObject } from 'node:crypto';
import { CtopError } from '../../errors.js';
import { privateKeyObject, signEd25519, verifyEd25519 } from '../../keys/ed25519.js';
import type { KeyRole, PrivateKey, SignatureCheck, SignedObject, TrustStore } from '../../keys/index.js';

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

/** `TrustStore.checkSignature` with the OpenSSL primitive: the same outcomes and details. */
export function checkSignature(
  trust: TrustStore,
  kid: string,
  role: KeyRole,
  message: Uint8Array,
  signature: Uint8Array,
): SignatureCheck {
  const key = trust.get(kid);
  if (!key) return { status: 'unknown_signer', detail: `kid "${kid}" is not in the trust store` };
  if (key.role !== role) {
    return { status: 'unknown_signer', detail: `kid "${kid}" is a ${key.role} key, not a ${role} key` };
  }
  if (!verifyEd25519(message, signature, key.publicKey)) {
    return { status: 'bad_signature', key, detail: `signature does not verify with key ${kid}` };
  }
  return { status: 'valid', key };
}

/** `TrustStore.verify`: signature first, then the key's validity window and revocation at `signedAt`. */
export function verifySigned(trust: TrustStore, object: SignedObject): SignatureCheck {
  const sig = checkSignature(trust, object.kid, object.role, object.message, object.signature);
  if (sig.status !== 'valid' || !sig.key) return sig;
  return trust.checkValidity(sig.key, object.signedAt);
}

/**
 * A view of a trust store whose signature check uses OpenSSL; everything else is the
 * store's own. Lets `inspectManifest` verify a manifest at OpenSSL speed without
 * duplicating its rules (the reference exchange checks every manifest it receives).
 */
export function withFastSignatures(trust: TrustStore): TrustStore {
  return new Proxy(trust, {
    get(target, prop) {
      if (prop === 'checkSignature') {
        return (kid: string, role: KeyRole, message: Uint8Array, signature: Uint8Array) =>
          checkSignature(target, kid, role, message, signature);
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
