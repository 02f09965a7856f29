import nacl from 'tweetnacl';
import { type Clock, systemClock } from '../clock.js';
import { CtopError } from '../errors.js';
import {
  algForRole,
  derivePublicKey,
  isKeyRole,
  KEY_ROLES,
  type KeyRole,
  KID_PATTERN,
  type PrivateKey,
} from './key-file.js';

/** Returns n random bytes; injected where tests or fixtures need reproducible output. */
export type RandomSource = (n: number) => Uint8Array;

export const systemRandom: RandomSource = (n) => nacl.randomBytes(n);

export interface GenerateKeyOptions {
  /** ISO 3166-1 alpha-2 of the owner. */
  country?: string;
  clock?: Clock;
  random?: RandomSource;
}

/** A new key pair for a role: Ed25519 for signing roles, X25519 for customs recipients. */
export function generateKey(role: KeyRole, kid: string, options: GenerateKeyOptions = {}): PrivateKey {
  if (!isKeyRole(role)) throw new CtopError('E_USAGE', `--role must be one of ${KEY_ROLES.join(', ')}`);
  if (!KID_PATTERN.test(kid)) {
    throw new CtopError(
      'E_USAGE',
      `--kid "${kid}" must be 1–64 characters A–Z a–z 0–9 . _ - (starting alphanumeric)`,
    );
  }
  if (options.country !== undefined && !/^[A-Z]{2}$/.test(options.country)) {
    throw new CtopError(
      'E_USAGE',
      `--country "${options.country}" must be an ISO 3166-1 alpha-2 code such as KZ or CN`,
    );
  }
  const alg = algForRole(role);
  const secretKey = (options.random ?? systemRandom)(32);
  if (secretKey.byteLength !== 32)
    throw new CtopError('E_INTERNAL', 'random source returned the wrong length');
  return {
    kid,
    role,
    alg,
    ...(options.country === undefined ? {} : { country: options.country }),
    created: new Date((options.clock ?? systemClock).now()).toISOString(),
    publicKey: derivePublicKey(alg, secretKey),
    secretKey,
  };
}
