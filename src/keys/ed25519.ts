import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/**
 * Ed25519 through node:crypto (OpenSSL). tweetnacl's pure-JavaScript verify costs 10–20 ms
 * on a gateway's core, OpenSSL's about 0.3 ms: a 110-lock train means ~450 checks (AUTH,
 * every event of every log, every manifest), which tweetnacl turned into seconds of CPU
 * in the middle of a passing train. Same keys, same RFC 8032 signatures (Ed25519 is
 * deterministic, so signing gives byte-identical output). OpenSSL is also the stricter
 * verifier: it refuses a non-canonical S (RFC 8032 §5.1.7), so a signature cannot be
 * altered into a second valid one.
 */

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Public keys seen so far; a gateway meets a few hundred locks a day, an exchange thousands. */
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 4096;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = b64url(publicKey);
  let key = publicKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/** False for wrong lengths or a key OpenSSL refuses, instead of throwing: callers treat it as a bad signature. */
export function verifyEd25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== 64 || publicKey.byteLength !== 32) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** An OpenSSL private key from the 32-byte seed and its public key. */
export function privateKeyObject(seed: Uint8Array, publicKey: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(publicKey) },
    format: 'jwk',
  });
}

export function signEd25519(message: Uint8Array, key: KeyObject): Buffer {
  return sign(null, message, key);
}
