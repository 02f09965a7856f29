import nacl from 'tweetnacl';
import { encodeCanonical } from '../cbor/index.js';
import { CtopError } from '../errors.js';
import { KID_PATTERN, type PrivateKey, type RandomSource, systemRandom } from '../keys/index.js';
import { asRecord, checkKeys, join, readText } from './fields.js';
import type { Issues } from './issues.js';
import type { ManifestLimits } from './limits.js';
import { type GoodsBody, SEALED_ALG, type SealedBody, type WrappedKey } from './types.js';

/**
 * Confidentiality of the goods body (MANIFEST.md §5). The body's deterministic CBOR is
 * encrypted once with nacl.secretbox (XSalsa20-Poly1305) under a random 32-byte content key;
 * the content key is wrapped for each customs recipient with nacl.box (X25519 +
 * XSalsa20-Poly1305) from a fresh ephemeral key pair per recipient, so the lock carries no
 * long-term sender secret and recipients cannot be linked across manifests by sender key.
 */

export interface RecipientKey {
  kid: string;
  /** X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
}

export function sealBody(
  body: GoodsBody,
  recipients: readonly RecipientKey[],
  random: RandomSource = systemRandom,
): SealedBody {
  if (recipients.length === 0)
    throw new CtopError('E_USAGE', 'encrypt for at least one customs recipient (--to <kid>)');
  const kids = new Set<string>();
  for (const r of recipients) {
    if (kids.has(r.kid)) throw new CtopError('E_USAGE', `recipient ${r.kid} is named twice`);
    kids.add(r.kid);
    if (r.publicKey.byteLength !== nacl.box.publicKeyLength) {
      throw new CtopError('E_KEY_ROLE', `recipient ${r.kid} does not have a 32-byte X25519 key`);
    }
  }
  const contentKey = random(nacl.secretbox.keyLength);
  try {
    const nonce = random(nacl.secretbox.nonceLength);
    const ciphertext = nacl.secretbox(encodeCanonical(body), nonce, contentKey);
    const wrapped: WrappedKey[] = recipients.map((r) => {
      const ephemeralSecret = random(nacl.box.secretKeyLength);
      const ephemeral = nacl.box.keyPair.fromSecretKey(ephemeralSecret);
      const boxNonce = random(nacl.box.nonceLength);
      const wrappedKey = nacl.box(contentKey, boxNonce, r.publicKey, ephemeral.secretKey);
      ephemeralSecret.fill(0);
      ephemeral.secretKey.fill(0);
      return { kid: r.kid, epk: ephemeral.publicKey, nonce: boxNonce, wrappedKey };
    });
    return { alg: SEALED_ALG, nonce, ciphertext, recipients: wrapped };
  } finally {
    contentKey.fill(0);
  }
}

/** Decrypts the body for one recipient key; returns the body's CBOR bytes (not yet validated). */
export function openSealedBody(sealed: SealedBody, key: PrivateKey): Uint8Array {
  if (key.alg !== 'X25519' || key.role !== 'recipient') {
    throw new CtopError(
      'E_KEY_ROLE',
      `key ${key.kid} is a ${key.role} (${key.alg}) key; decrypting needs a customs recipient key`,
    );
  }
  const entry = sealed.recipients.find((r) => r.kid === key.kid);
  if (!entry) {
    throw new CtopError(
      'E_MANIFEST_NOT_RECIPIENT',
      `the manifest is encrypted for ${sealed.recipients.map((r) => r.kid).join(', ')}, not for ${key.kid}`,
      { details: { kid: key.kid, recipients: sealed.recipients.map((r) => r.kid) } },
    );
  }
  const contentKey = nacl.box.open(entry.wrappedKey, entry.nonce, entry.epk, key.secretKey);
  if (!contentKey) {
    throw new CtopError(
      'E_MANIFEST_DECRYPT',
      `the content key wrapped for ${key.kid} does not decrypt with this key`,
    );
  }
  try {
    if (contentKey.byteLength !== nacl.secretbox.keyLength) {
      throw new CtopError('E_MANIFEST_DECRYPT', 'the unwrapped content key has the wrong length');
    }
    const plaintext = nacl.secretbox.open(sealed.ciphertext, sealed.nonce, contentKey);
    if (!plaintext)
      throw new CtopError('E_MANIFEST_DECRYPT', 'the goods body does not decrypt with the content key');
    return plaintext;
  } finally {
    contentKey.fill(0);
  }
}

function readBytes(
  record: Record<string, unknown>,
  key: string,
  path: string,
  issues: Issues,
  length?: number,
): Uint8Array | undefined {
  const value = record[key];
  const at = join(path, key);
  if (!(value instanceof Uint8Array))
    return issues.error(at, 'E_MANIFEST_MALFORMED', 'must be a byte string');
  if (length !== undefined && value.byteLength !== length) {
    return issues.error(at, 'E_MANIFEST_MALFORMED', `must be ${length} bytes, not ${value.byteLength}`);
  }
  return value;
}

const SEALED_KEYS = ['alg', 'nonce', 'ciphertext', 'recipients'] as const;
const RECIPIENT_KEYS = ['kid', 'epk', 'nonce', 'wrappedKey'] as const;

/** Checks the structure of a decoded sealed body (wire mode). */
export function validateSealed(
  value: unknown,
  path: string,
  issues: Issues,
  limits: ManifestLimits,
): SealedBody | undefined {
  const s = asRecord(value, path, issues);
  if (!s) return undefined;
  checkKeys(s, SEALED_KEYS, path, issues);
  const before = issues.errors.length;
  if (s.alg !== SEALED_ALG)
    issues.error(join(path, 'alg'), 'E_MANIFEST_MALFORMED', `must be "${SEALED_ALG}"`);
  const nonce = readBytes(s, 'nonce', path, issues, nacl.secretbox.nonceLength);
  const ciphertext = readBytes(s, 'ciphertext', path, issues);
  if (ciphertext && ciphertext.byteLength < nacl.secretbox.overheadLength) {
    issues.error(join(path, 'ciphertext'), 'E_MANIFEST_MALFORMED', 'is shorter than its authenticator');
  }
  const recipientsPath = join(path, 'recipients');
  const recipients: WrappedKey[] = [];
  if (!Array.isArray(s.recipients) || s.recipients.length === 0) {
    issues.error(recipientsPath, 'E_MANIFEST_MALFORMED', 'must be a non-empty list');
  } else if (s.recipients.length > limits.maxRecipients) {
    issues.error(
      recipientsPath,
      'E_MANIFEST_LIMIT',
      `has ${s.recipients.length} entries; at most ${limits.maxRecipients}`,
    );
  } else {
    s.recipients.forEach((entry, i) => {
      const at = `${recipientsPath}[${i}]`;
      const r = asRecord(entry, at, issues);
      if (!r) return;
      checkKeys(r, RECIPIENT_KEYS, at, issues);
      const kid = readText(r, 'kid', at, issues, {
        required: true,
        max: 64,
        pattern: KID_PATTERN,
        patternHint: 'a key id',
      });
      const epk = readBytes(r, 'epk', at, issues, nacl.box.publicKeyLength);
      const boxNonce = readBytes(r, 'nonce', at, issues, nacl.box.nonceLength);
      const wrappedKey = readBytes(
        r,
        'wrappedKey',
        at,
        issues,
        nacl.secretbox.keyLength + nacl.box.overheadLength,
      );
      if (kid && recipients.some((x) => x.kid === kid))
        issues.error(join(at, 'kid'), 'E_MANIFEST_MALFORMED', `${kid} is listed twice`);
      if (kid && epk && boxNonce && wrappedKey) recipients.push({ kid, epk, nonce: boxNonce, wrappedKey });
    });
  }
  if (issues.errors.length > before || !nonce || !ciphertext) return undefined;
  return { alg: SEALED_ALG, nonce, ciphertext, recipients };
}
