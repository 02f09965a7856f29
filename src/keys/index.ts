/**
 * Keys of every role (customs signer and recipient, gateway, lock, carrier, exchange) and
 * the trust store. File formats: firmware-protocol/MANIFEST.md §6.
 *
 * - `generateKey(role, kid, { country })` → PrivateKey (Ed25519, or X25519 for recipients)
 * - `writeKeyPair(dir, key)` → `<dir>/<kid>.key` (0600, atomic, no clobber) + `<kid>.pub`
 * - `loadPrivateKey(file)` refuses group/world-accessible files (E_KEY_PERMISSIONS)
 * - `loadPublicKey(file)`
 * - `signDetached(key, message, role?)` / `verifyDetached(message, signature, publicKey)`
 * - `TrustStore.load(file)`, `.reload()`, `.find(kid, role)`, `.verify({...})` with the
 *   outcomes valid | unknown_signer | bad_signature | expired | revoked | malformed
 */

export { ED25519_VERIFIER } from './ed25519.js';
export { type GenerateKeyOptions, generateKey, type RandomSource, systemRandom } from './generate.js';
export {
  algForRole,
  derivePublicKey,
  isKeyRole,
  isPrivateKey,
  KEY_FILE_FORMAT,
  KEY_ROLES,
  type KeyAlg,
  type KeyRole,
  KID_PATTERN,
  type PrivateKey,
  type PublicKey,
  parseKeyFile,
  publicPart,
  serializePrivateKey,
  serializePublicKey,
} from './key-file.js';
export {
  type KeyPairPaths,
  loadPrivateKey,
  loadPublicKey,
  type WriteKeyPairOptions,
  writeKeyPair,
  writePublicKey,
} from './key-io.js';
export { signDetached, verifyDetached } from './signing.js';
export {
  type SignatureCheck,
  type SignedObject,
  TRUST_STORE_FORMAT,
  type TrustedKey,
  TrustStore,
  type VerificationStatus,
} from './trust-store.js';
