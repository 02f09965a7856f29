import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-file.js';
import { CtopError } from '../errors.js';
import { algForRole, isKeyRole, type KeyRole, KID_PATTERN, type PublicKey } from './key-file.js';
import { verifyDetached } from './signing.js';

/**
 * The keys a gateway accepts (MANIFEST.md §6.2): customs signer keys, customs recipient
 * keys, exchange and carrier keys, each with a validity window and an optional revocation.
 * A JSON file an operator can read and edit; `reload()` re-reads it (the daemon does on
 * SIGHUP) and keeps the previous content when the new file is invalid.
 *
 *   { "format": "ctop-agent-trust/1", "keys": [ { "kid": "kz-customs-signer-1",
 *     "role": "signer", "alg": "Ed25519", "country": "KZ", "publicKey": "<base64>",
 *     "notBefore": "2025-01-01T00:00:00Z", "notAfter": "2027-12-31T23:59:59Z",
 *     "revokedAt": "2026-02-01T00:00:00Z", "revocationReason": "key compromise" } ] }
 */

export const TRUST_STORE_FORMAT = 'ctop-agent-trust/1';

/** The distinct outcomes of checking a signed object; only `valid` is valid data. */
export type VerificationStatus =
  | 'valid'
  | 'unknown_signer'
  | 'bad_signature'
  | 'expired'
  | 'revoked'
  | 'malformed';

export interface TrustedKey extends PublicKey {
  /** Milliseconds; objects signed (created) before it are `expired`. */
  readonly notBefore?: number;
  /** Milliseconds; objects signed (created) after it are `expired`. */
  readonly notAfter?: number;
  /** Milliseconds; objects signed at or after it are `revoked`. */
  readonly revokedAt?: number;
  readonly revocationReason?: string;
}

export interface SignatureCheck {
  readonly status: VerificationStatus;
  /** The trusted key, when the kid named one of the expected role. */
  readonly key?: TrustedKey;
  /** One line for the operator: why the status is not `valid`. */
  readonly detail?: string;
}

export interface SignedObject {
  kid: string;
  /** The role the signer must have, e.g. 'signer' for manifests, 'exchange' for receipts. */
  role: KeyRole;
  /** The exact bytes that were signed. */
  message: Uint8Array;
  signature: Uint8Array;
  /** When the object says it was signed (ms): the validity window and revocation apply to it. */
  signedAt: number;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function parseTime(value: unknown, field: string, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new CtopError('E_TRUST_STORE', `${where}: "${field}" must be an ISO 8601 time`);
  return ms;
}

function parseEntry(entry: unknown, where: string): TrustedKey {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new CtopError('E_TRUST_STORE', `${where}: not a JSON object`);
  }
  const e = entry as Record<string, unknown>;
  if (typeof e.kid !== 'string' || !KID_PATTERN.test(e.kid)) {
    throw new CtopError('E_TRUST_STORE', `${where}: "kid" must match ${KID_PATTERN}`);
  }
  const at = `${where} (kid ${e.kid})`;
  if (!isKeyRole(e.role)) throw new CtopError('E_TRUST_STORE', `${at}: unknown "role"`);
  if (e.alg !== algForRole(e.role)) {
    throw new CtopError('E_TRUST_STORE', `${at}: a ${e.role} key must have "alg": "${algForRole(e.role)}"`);
  }
  if (e.country !== undefined && (typeof e.country !== 'string' || !/^[A-Z]{2}$/.test(e.country))) {
    throw new CtopError('E_TRUST_STORE', `${at}: "country" must be an ISO 3166-1 alpha-2 code`);
  }
  if (typeof e.publicKey !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(e.publicKey)) {
    throw new CtopError('E_TRUST_STORE', `${at}: "publicKey" must be 32 bytes in base64`);
  }
  if (e.revocationReason !== undefined && typeof e.revocationReason !== 'string') {
    throw new CtopError('E_TRUST_STORE', `${at}: "revocationReason" must be a string`);
  }
  const notBefore = parseTime(e.notBefore, 'notBefore', at);
  const notAfter = parseTime(e.notAfter, 'notAfter', at);
  const revokedAt = parseTime(e.revokedAt, 'revokedAt', at);
  if (notBefore !== undefined && notAfter !== undefined && notAfter < notBefore) {
    throw new CtopError('E_TRUST_STORE', `${at}: "notAfter" is before "notBefore"`);
  }
  return {
    kid: e.kid,
    role: e.role,
    alg: algForRole(e.role),
    ...(e.country === undefined ? {} : { country: e.country as string }),
    created: typeof e.created === 'string' ? e.created : '',
    publicKey: new Uint8Array(Buffer.from(e.publicKey, 'base64')),
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(notAfter === undefined ? {} : { notAfter }),
    ...(revokedAt === undefined ? {} : { revokedAt }),
    ...(typeof e.revocationReason === 'string' ? { revocationReason: e.revocationReason } : {}),
  };
}

function parseDocument(doc: unknown, where: string): Map<string, TrustedKey> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CtopError('E_TRUST_STORE', `${where}: not a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  if (d.format !== TRUST_STORE_FORMAT) {
    throw new CtopError('E_TRUST_STORE', `${where}: "format" must be "${TRUST_STORE_FORMAT}"`);
  }
  if (!Array.isArray(d.keys)) throw new CtopError('E_TRUST_STORE', `${where}: "keys" must be an array`);
  const keys = new Map<string, TrustedKey>();
  d.keys.forEach((entry, i) => {
    const key = parseEntry(entry, `${where}: keys[${i}]`);
    if (keys.has(key.kid))
      throw new CtopError('E_TRUST_STORE', `${where}: keys[${i}]: kid ${key.kid} appears twice`);
    keys.set(key.kid, key);
  });
  return keys;
}

export class TrustStore {
  #keys: Map<string, TrustedKey>;
  /** The file it was loaded from, when any; `reload()` and `save()` use it. */
  readonly file: string | undefined;

  private constructor(keys: Map<string, TrustedKey>, file?: string) {
    this.#keys = keys;
    this.file = file;
  }

  static empty(file?: string): TrustStore {
    return new TrustStore(new Map(), file);
  }

  static fromJSON(doc: unknown, where = 'trust store'): TrustStore {
    return new TrustStore(parseDocument(doc, where));
  }

  static load(file: string): TrustStore {
    return new TrustStore(TrustStore.#read(file), file);
  }

  static #read(file: string): Map<string, TrustedKey> {
    let text: string;
    try {
      if (statSync(file).size > 16 * 1024 * 1024) throw new Error('larger than 16 MiB');
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CtopError('E_FILE', `cannot read trust store ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new CtopError('E_TRUST_STORE', `${file}: not JSON (${(err as Error).message})`, { cause: err });
    }
    return parseDocument(doc, file);
  }

  /** Re-reads the file; on any error the current keys stay in force and the error is thrown. */
  reload(): void {
    if (this.file === undefined)
      throw new CtopError('E_USAGE', 'this trust store was not loaded from a file');
    this.#keys = TrustStore.#read(this.file);
  }

  get size(): number {
    return this.#keys.size;
  }

  get(kid: string): TrustedKey | undefined {
    return this.#keys.get(kid);
  }

  /** The key with that kid if it has the role, else undefined. */
  find(kid: string, role: KeyRole): TrustedKey | undefined {
    const key = this.#keys.get(kid);
    return key?.role === role ? key : undefined;
  }

  list(): TrustedKey[] {
    return [...this.#keys.values()];
  }

  /** Adds a key; a kid already present with another public key is refused. */
  add(key: PublicKey, window: { notBefore?: number; notAfter?: number } = {}): TrustedKey {
    const existing = this.#keys.get(key.kid);
    if (existing && !Buffer.from(existing.publicKey).equals(key.publicKey)) {
      throw new CtopError(
        'E_TRUST_STORE',
        `kid ${key.kid} is already in the trust store with another public key`,
      );
    }
    const entry: TrustedKey = { ...existing, ...key, ...window };
    this.#keys.set(key.kid, entry);
    return entry;
  }

  revoke(kid: string, at: number, reason: string): TrustedKey {
    const existing = this.#keys.get(kid);
    if (!existing) throw new CtopError('E_TRUST_STORE', `kid ${kid} is not in the trust store`);
    const entry: TrustedKey = { ...existing, revokedAt: at, revocationReason: reason };
    this.#keys.set(kid, entry);
    return entry;
  }

  toJSON(): { format: string; keys: Record<string, unknown>[] } {
    return {
      format: TRUST_STORE_FORMAT,
      keys: this.list().map((k) => ({
        kid: k.kid,
        role: k.role,
        alg: k.alg,
        country: k.country,
        created: k.created || undefined,
        publicKey: Buffer.from(k.publicKey).toString('base64'),
        notBefore: iso(k.notBefore),
        notAfter: iso(k.notAfter),
        revokedAt: iso(k.revokedAt),
        revocationReason: k.revocationReason,
      })),
    };
  }

  /** Writes the store atomically (temporary file, fsync, rename). */
  save(file: string | undefined = this.file): void {
    if (file === undefined) throw new CtopError('E_USAGE', 'no file to save the trust store to');
    writeFileAtomic(file, `${JSON.stringify(this.toJSON(), null, 2)}\n`, 0o644);
  }

  /** Step 1: is the kid a trusted key of the role, and does the signature verify? */
  checkSignature(kid: string, role: KeyRole, message: Uint8Array, signature: Uint8Array): SignatureCheck {
    const key = this.#keys.get(kid);
    if (!key) return { status: 'unknown_signer', detail: `kid "${kid}" is not in the trust store` };
    if (key.role !== role) {
      return { status: 'unknown_signer', detail: `kid "${kid}" is a ${key.role} key, not a ${role} key` };
    }
    if (!verifyDetached(message, signature, key.publicKey)) {
      return { status: 'bad_signature', key, detail: `signature does not verify with key ${kid}` };
    }
    return { status: 'valid', key };
  }

  /** Step 2, after a good signature: was the key valid when the object says it was signed? */
  checkValidity(key: TrustedKey, signedAt: number): SignatureCheck {
    if (key.revokedAt !== undefined && signedAt >= key.revokedAt) {
      const reason = key.revocationReason ? ` (${key.revocationReason})` : '';
      return {
        status: 'revoked',
        key,
        detail: `signed at ${iso(signedAt)}, key ${key.kid} revoked at ${iso(key.revokedAt)}${reason}`,
      };
    }
    if (key.notBefore !== undefined && signedAt < key.notBefore) {
      return {
        status: 'expired',
        key,
        detail: `signed at ${iso(signedAt)}, before key ${key.kid} became valid at ${iso(key.notBefore)}`,
      };
    }
    if (key.notAfter !== undefined && signedAt > key.notAfter) {
      return {
        status: 'expired',
        key,
        detail: `signed at ${iso(signedAt)}, after key ${key.kid} expired at ${iso(key.notAfter)}`,
      };
    }
    return { status: 'valid', key };
  }

  /** Both steps, for callers that know the signing time before verifying. */
  verify(object: SignedObject): SignatureCheck {
    const sig = this.checkSignature(object.kid, object.role, object.message, object.signature);
    if (sig.status !== 'valid' || !sig.key) return sig;
    return this.checkValidity(sig.key, object.signedAt);
  }
}
