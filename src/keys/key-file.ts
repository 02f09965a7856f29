import nacl from 'tweetnacl';
import { CtopError } from '../errors.js';

/**
 * The key file format (MANIFEST.md §6): one JSON object per file, `<kid>.key` holding the
 * private key and `<kid>.pub` the public half. JSON so an operator can read who a key
 * belongs to with `cat`, and so another language reads it without a library of ours.
 *
 *   { "format": "ctop-agent-key/1", "kid": "kz-customs-signer-1", "role": "signer",
 *     "alg": "Ed25519", "country": "KZ", "created": "2025-03-01T09:00:00.000Z",
 *     "publicKey": "<base64, 32 bytes>", "secretKey": "<base64, 32 bytes; .key only>" }
 *
 * `secretKey` is the 32-byte RFC 8032 seed for Ed25519 and the 32-byte RFC 7748 scalar for
 * X25519: the forms node:crypto, libsodium and most HSM exports use.
 */

export const KEY_FILE_FORMAT = 'ctop-agent-key/1';

export const KEY_ROLES = ['signer', 'recipient', 'gateway', 'lock', 'carrier', 'exchange'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];
export type KeyAlg = 'Ed25519' | 'X25519';

/** Key ids travel in COSE headers and become file names: keep them short and path-safe. */
export const KID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface PublicKey {
  readonly kid: string;
  readonly role: KeyRole;
  readonly alg: KeyAlg;
  /** ISO 3166-1 alpha-2 of the authority or operator owning the key, when known. */
  readonly country?: string;
  /** ISO 8601 creation time, for the operator's eyes only. */
  readonly created: string;
  readonly publicKey: Uint8Array;
}

export interface PrivateKey extends PublicKey {
  /** 32 bytes: the Ed25519 seed or the X25519 secret scalar. Never logged. */
  readonly secretKey: Uint8Array;
}

/** Recipients decrypt (X25519, nacl.box); every other role signs (Ed25519, nacl.sign). */
export function algForRole(role: KeyRole): KeyAlg {
  return role === 'recipient' ? 'X25519' : 'Ed25519';
}

export function isKeyRole(value: unknown): value is KeyRole {
  return typeof value === 'string' && (KEY_ROLES as readonly string[]).includes(value);
}

/** The public key that belongs to a 32-byte secret of the given algorithm. */
export function derivePublicKey(alg: KeyAlg, secretKey: Uint8Array): Uint8Array {
  return alg === 'Ed25519'
    ? nacl.sign.keyPair.fromSeed(secretKey).publicKey
    : nacl.box.keyPair.fromSecretKey(secretKey).publicKey;
}

export function publicPart(key: PublicKey): PublicKey {
  const { kid, role, alg, country, created, publicKey } = key;
  return country === undefined
    ? { kid, role, alg, created, publicKey }
    : { kid, role, alg, country, created, publicKey };
}

function toJson(key: PublicKey, secretKey?: Uint8Array): string {
  const doc: Record<string, string> = {
    format: KEY_FILE_FORMAT,
    kid: key.kid,
    role: key.role,
    alg: key.alg,
    ...(key.country === undefined ? {} : { country: key.country }),
    created: key.created,
    publicKey: Buffer.from(key.publicKey).toString('base64'),
  };
  if (secretKey) doc.secretKey = Buffer.from(secretKey).toString('base64');
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function serializePublicKey(key: PublicKey): string {
  return toJson(key);
}

export function serializePrivateKey(key: PrivateKey): string {
  return toJson(key, key.secretKey);
}

function decode32(value: unknown, field: string, where: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(value)) {
    throw new CtopError('E_KEY_FORMAT', `${where}: "${field}" must be 32 bytes in base64`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/**
 * Parses a key file's text. `where` names the file in errors. A private key file yields a
 * PrivateKey whose public key is checked against its secret, so a hand-edited pair cannot
 * disagree.
 */
export function parseKeyFile(text: string, where: string): PublicKey | PrivateKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CtopError('E_KEY_FORMAT', `${where}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CtopError('E_KEY_FORMAT', `${where}: not a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  if (d.format !== KEY_FILE_FORMAT) {
    throw new CtopError('E_KEY_FORMAT', `${where}: "format" must be "${KEY_FILE_FORMAT}"`);
  }
  if (typeof d.kid !== 'string' || !KID_PATTERN.test(d.kid)) {
    throw new CtopError('E_KEY_FORMAT', `${where}: "kid" must match ${KID_PATTERN}`);
  }
  if (!isKeyRole(d.role))
    throw new CtopError('E_KEY_FORMAT', `${where}: "role" must be one of ${KEY_ROLES.join(', ')}`);
  if (d.alg !== algForRole(d.role)) {
    throw new CtopError('E_KEY_FORMAT', `${where}: a ${d.role} key must have "alg": "${algForRole(d.role)}"`);
  }
  if (d.country !== undefined && (typeof d.country !== 'string' || !/^[A-Z]{2}$/.test(d.country))) {
    throw new CtopError('E_KEY_FORMAT', `${where}: "country" must be an ISO 3166-1 alpha-2 code`);
  }
  if (typeof d.created !== 'string' || Number.isNaN(Date.parse(d.created))) {
    throw new CtopError('E_KEY_FORMAT', `${where}: "created" must be an ISO 8601 time`);
  }
  const base: PublicKey = {
    kid: d.kid,
    role: d.role,
    alg: algForRole(d.role),
    ...(d.country === undefined ? {} : { country: d.country as string }),
    created: d.created,
    publicKey: decode32(d.publicKey, 'publicKey', where),
  };
  if (d.secretKey === undefined) return base;
  const secretKey = decode32(d.secretKey, 'secretKey', where);
  if (!Buffer.from(derivePublicKey(base.alg, secretKey)).equals(base.publicKey)) {
    throw new CtopError('E_KEY_FORMAT', `${where}: "publicKey" does not belong to "secretKey"`);
  }
  return { ...base, secretKey };
}

export function isPrivateKey(key: PublicKey | PrivateKey): key is PrivateKey {
  return 'secretKey' in key;
}
