import { CtopError } from '../errors.js';
import { type ParsedHash, parsePasswordHash } from './passwords.js';

/**
 * - customs: may decrypt a manifest's goods body (with a recipient key the checkpoint holds);
 * - viewer: sees trains, routing fields, the outbox, outages, alerts and the audit trail.
 * Both are read-only: the console changes nothing but its own audit trail.
 */
export const OFFICER_ROLES = ['customs', 'viewer'] as const;
export type OfficerRole = (typeof OFFICER_ROLES)[number];

/** One account as the configuration gives it. */
export interface OfficerAccount {
  /** Login name: 1–64 of a-z 0-9 . _ - starting with a letter. */
  user: string;
  /** `$scrypt$…` from `ctop-agent console hash-password`; never the password itself. */
  passwordHash: string;
  roles: readonly OfficerRole[];
  /** Shown on the page, e.g. "A. Nurlanovna, shift 2". Default: the user name. */
  name?: string;
}

/** An account with its hash parsed once at start-up. */
export interface Officer {
  user: string;
  name: string;
  roles: readonly OfficerRole[];
  password: ParsedHash;
}

const USER_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;

/** Validates the accounts at start-up so a bad entry fails the daemon's start, not a login. */
export function loadOfficers(accounts: readonly OfficerAccount[]): Map<string, Officer> {
  const officers = new Map<string, Officer>();
  for (const [i, account] of accounts.entries()) {
    const where = `officers[${i}]`;
    if (typeof account?.user !== 'string' || !USER_PATTERN.test(account.user)) {
      throw new CtopError(
        'E_CONSOLE_CONFIG',
        `${where}.user must be 1–64 of a-z 0-9 . _ - starting with a letter`,
      );
    }
    if (officers.has(account.user))
      throw new CtopError('E_CONSOLE_CONFIG', `${where}: user ${account.user} is listed twice`);
    if (typeof account.passwordHash !== 'string')
      throw new CtopError('E_CONSOLE_CONFIG', `${where}.passwordHash is missing`);
    const roles = account.roles;
    if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => OFFICER_ROLES.includes(r))) {
      throw new CtopError(
        'E_CONSOLE_CONFIG',
        `${where}.roles must list one or more of ${OFFICER_ROLES.join(', ')}`,
      );
    }
    officers.set(account.user, {
      user: account.user,
      name: account.name?.trim() || account.user,
      roles: [...new Set(roles)],
      password: parsePasswordHash(account.passwordHash, `${where}.passwordHash (${account.user})`),
    });
  }
  return officers;
}
