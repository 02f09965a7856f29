import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * Ed25519 through node:crypto (OpenSSL). tweetnacl's pure-JavaScript verify costs 10–20 ms
 * on a gateway's core, OpenSSL's about 0.3 ms: a 110-lock train means ~450 checks (AUTH,
 * every event of every log, every manifest), which tweetnacl turned into seconds of CPU
 * in the middle of a passing train. Same keys, same RFC 8032 signatures (Ed25519 is
 * deterministic, so signing gives byte-identical output). OpenSSL is also the stricter
 * verifier: it refuses a non-canonical S (RFC 8032 §5.1.7), so a signature cannot be
 * altered into a second valid one.
 *
 * Verification goes to libsodium (sodium-native) where its prebuilt binary loads: 0.72 of
 * OpenSSL 3.0's CPU for a 9 KiB envelope (`npm run bench -- ed25519`; the exchange checks
 * two signatures per manifest, the gateway one per receipt and lock AUTH). libsodium refuses
 * everything OpenSSL refuses (non-canonical S, a wrong R) and, beyond it, small-order and
 * non-canonical points (test/keys/ed25519.test.ts). Where it does not load (a platform
 * without a prebuild, such as 32-bit ARM) OpenSSL verifies, refusing small-order points
 * first as libsodium does. Signing stays with OpenSSL: no faster for 9 KB, and the private
 * key stays a KeyObject.
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

interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

function loadSodium(): Sodium | undefined {
  try {
    const sodium = createRequire(import.meta.url)('sodium-native') as Partial<Sodium>;
    return typeof sodium.crypto_sign_verify_detached === 'function' ? (sodium as Sodium) : undefined;
  } catch {
    return undefined;
  }
}

const sodium = loadSodium();

/** Which library verifies Ed25519 signatures in this process (the daemon's `ready` log line names it). */
export const ED25519_VERIFIER: 'libsodium' | 'openssl' = sodium ? 'libsodium' : 'openssl';

const P = 2n ** 255n - 19n;
/** The y of the two points of order 8 are this and p minus it: d·y⁴ + 2y² − 1 ≡ 0 (mod p). */
const Y_ORDER_8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
const littleEndian32 = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
/**
 * The encodings of the points of small order, sign bit aside: y = 1 (order 1), p − 1 (order 2),
 * 0 (order 4), the two of order 8, and p and p + 1, non-canonical encodings of 0 and 1 —
 * libsodium's list. Under OpenSSL 3.0 such a key with R = identity and S = 0 "signs" every
 * message; libsodium refuses these points, and so does the OpenSSL path below.
 */
export const SMALL_ORDER_ENCODINGS: readonly Buffer[] = [
  0n,
  1n,
  Y_ORDER_8,
  P - Y_ORDER_8,
  P - 1n,
  P,
  P + 1n,
].map(littleEndian32);

/** Whether 32 bytes encode a point of small order (whatever the sign bit). */
export function isSmallOrderPoint(encoded: Uint8Array): boolean {
  if (encoded.byteLength !== 32) return false;
  const y = Buffer.from(encoded);
  y[31]! &= 0x7f;
  return SMALL_ORDER_ENCODINGS.some((e) => e.equals(y));
}

/** OpenSSL's verification: the fallback, and the reference the tests hold libsodium to. */
export function verifyEd25519OpenSsl(
  message: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.byteLength !== 64 || publicKey.byteLength !== 32) return false;
  // Refused as libsodium refuses them: a small-order key or R.
  if (isSmallOrderPoint(publicKey) || isSmallOrderPoint(signature.subarray(0, 32))) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** libsodium's verification; undefined where sodium-native does not load. */
export const verifyEd25519Sodium: typeof verifyEd25519OpenSsl | undefined =
  sodium &&
  ((message, signature, publicKey) => {
    if (signature.byteLength !== 64 || publicKey.byteLength !== 32) return false;
    try {
      return sodium.crypto_sign_verify_detached(signature, message, publicKey);
    } catch {
      return false;
    }
  });

/** False for wrong lengths or a key the library refuses, instead of throwing: callers treat it as a bad signature. */
export const verifyEd25519: typeof verifyEd25519OpenSsl = verifyEd25519Sodium ?? verifyEd25519OpenSsl;

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
