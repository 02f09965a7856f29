import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { CtopError } from '../errors.js';
import { assertOwnerOnly, readSmallFile } from '../owner-only-file.js';
import {
  isPrivateKey,
  type PrivateKey,
  type PublicKey,
  parseKeyFile,
  publicPart,
  serializePrivateKey,
  serializePublicKey,
} from './key-file.js';

/** Key files are tiny; anything bigger is not one, and is not read into memory. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface WriteKeyPairOptions {
  /** Replace existing files of the same name; default false (E_KEY_EXISTS). */
  overwrite?: boolean;
  /** File name without extension; default the kid. Fixtures use `<kid>.TEST-ONLY`. */
  basename?: string;
}

export interface KeyPairPaths {
  privateKey: string;
  publicKey: string;
}

/**
 * Writes `<dir>/<kid>.key` (mode 0600) and `<dir>/<kid>.pub` (mode 0644). The private key
 * is written to a temporary file created with mode 0600 — never chmod-ed afterwards, so it is
 * never readable by others even for an instant — synced, then linked into place, which
 * fails atomically if the name exists (no clobbering without `overwrite`).
 */
export function writeKeyPair(dir: string, key: PrivateKey, options: WriteKeyPairOptions = {}): KeyPairPaths {
  const base = options.basename ?? key.kid;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privatePath = path.join(dir, `${base}.key`);
  const publicPath = path.join(dir, `${base}.pub`);
  placeFile(privatePath, serializePrivateKey(key), 0o600, options.overwrite === true);
  placeFile(publicPath, serializePublicKey(publicPart(key)), 0o644, options.overwrite === true);
  return { privateKey: privatePath, publicKey: publicPath };
}

/** Writes a public key file alone (e.g. exported for a trust store). */
export function writePublicKey(file: string, key: PublicKey, overwrite = false): void {
  placeFile(file, serializePublicKey(publicPart(key)), 0o644, overwrite);
}

function placeFile(target: string, content: string, mode: number, overwrite: boolean): void {
  writeFileAtomic(target, content, mode, {
    overwrite,
    exists: (file) => new CtopError('E_KEY_EXISTS', `${file} already exists`, { details: { file } }),
  });
}

function readKeyFile(file: string): { text: string; mode: number } {
  const { bytes, mode } = readSmallFile(file, MAX_KEY_FILE_BYTES, 'key file', {
    unreadable: (message, cause) => new CtopError('E_FILE', message, { cause, details: { file } }),
    invalid: (message) => new CtopError('E_KEY_FORMAT', message),
  });
  return { text: bytes.toString('utf8'), mode };
}

/**
 * Loads a private key, refusing — like ssh — a file that group or others may access
 * (E_KEY_PERMISSIONS, with the chmod to run).
 */
export function loadPrivateKey(file: string): PrivateKey {
  const { text, mode } = readKeyFile(file);
  const key = parseKeyFile(text, file);
  if (!isPrivateKey(key))
    throw new CtopError('E_KEY_FORMAT', `${file} holds a public key, not a private key`);
  assertOwnerOnly(file, mode, 'private key');
  return key;
}

/**
 * Loads a public key from a `.pub` file. Given a `.key` file it applies the private-key
 * permission check and returns the public half.
 */
export function loadPublicKey(file: string): PublicKey {
  const { text, mode } = readKeyFile(file);
  const key = parseKeyFile(text, file);
  if (!isPrivateKey(key)) return key;
  assertOwnerOnly(file, mode, 'private key');
  return publicPart(key);
}
