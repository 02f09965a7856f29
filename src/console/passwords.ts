import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { CtopError } from '../errors.js';

/**
 * Officer passwords, stored only as scrypt hashes (node:crypto, RFC 7914) in the PHC string
 * format that argon2 and passlib use, so an operator recognises it and a later algorithm
 * can sit beside it:
 *
 *     $scrypt$ln=15,r=8,p=1$<salt, base64 without padding>$<hash, base64 without padding>
 *
 * A fresh 16-byte salt per account, so equal passwords give different hashes. ln=15
 * (N = 32768) takes about 0.1 s and 32 MiB per check: cheap for a login, costly for a
 * guesser who stole the configuration.
 */

export const MIN_PASSWORD_LENGTH = 12;

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,64})\$([A-Za-z0-9+/]{32,128})$/;

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  // The callback form runs on libuv's thread pool: a login does not stall the event loop.
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/**
 * Parses a stored hash; throws E_CONSOLE_CONFIG naming `where` when it is not one this
 * module wrote. Cost parameters are bounded so that a typo cannot make each login take
 * minutes or gigabytes.
 */
export function parsePasswordHash(text: string, where = 'password hash'): ParsedHash {
  const m = PHC.exec(text.trim());
  if (!m) {
    throw new CtopError(
      'E_CONSOLE_CONFIG',
      `${where} is not an scrypt hash ($scrypt$ln=…,r=…,p=…$salt$hash); make one with \`ctop-agent console hash-password\``,
    );
  }
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 14 || params.ln > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) {
    throw new CtopError(
      'E_CONSOLE_CONFIG',
      `${where}: scrypt parameters ln=${params.ln},r=${params.r},p=${params.p} out of bounds (ln 14–20, r 1–32, p 1–16)`,
    );
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < SALT_LENGTH || hash.length < KEY_LENGTH) {
    throw new CtopError(
      'E_CONSOLE_CONFIG',
      `${where}: salt or hash too short (at least ${SALT_LENGTH} and ${KEY_LENGTH} bytes)`,
    );
  }
  return { params, salt, hash };
}

/** Hashes a new password with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new CtopError('E_CONSOLE_PASSWORD', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const salt = randomBytes(SALT_LENGTH);
  const hash = await derive(password, salt, params, KEY_LENGTH);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** True when `password` matches; the comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, stored: ParsedHash): Promise<boolean> {
  const candidate = await derive(password, stored.salt, stored.params, stored.hash.length);
  return timingSafeEqual(candidate, stored.hash);
}
