import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import {
  generateKey,
  isKeyRole,
  KEY_ROLES,
  type KeyRole,
  loadPublicKey,
  TrustStore,
  writeKeyPair,
} from '../../keys/index.js';

function parseRole(value: string): KeyRole {
  if (!isKeyRole(value)) throw new InvalidArgumentError(`--role must be one of ${KEY_ROLES.join(', ')}`);
  return value;
}

function parseTime(name: string): (value: string) => number {
  return (value) => {
    const ms = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms))
      throw new InvalidArgumentError(`${name} must be an ISO 8601 date or time, got "${value}"`);
    return ms;
  };
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('customs, gateway, lock, carrier and exchange keys; the trust store');

  keys
    .command('gen')
    .description('generate a key pair: <dir>/<kid>.key (private, mode 0600) and <dir>/<kid>.pub')
    .requiredOption(
      '--role <role>',
      `${KEY_ROLES.join(' | ')} (recipient keys are X25519, the others Ed25519)`,
      parseRole,
    )
    .option(
      '--kid <kid>',
      'key id, e.g. kz-customs-signer-1 (1-64 of A-Z a-z 0-9 . _ -); default <cc>-<role>-<random>',
    )
    .option('--country <cc>', 'ISO 3166-1 alpha-2 of the owner, e.g. KZ or CN')
    .requiredOption('--out <dir>', 'directory for the key files (created with mode 0700 if missing)')
    .option('--force', 'replace existing key files of the same kid')
    .action((opts: { role: KeyRole; kid?: string; country?: string; out: string; force?: boolean }) => {
      const kid =
        opts.kid ??
        [opts.country?.toLowerCase(), opts.role, randomBytes(3).toString('hex')].filter(Boolean).join('-');
      const key = generateKey(opts.role, kid, opts.country === undefined ? {} : { country: opts.country });
      const paths = writeKeyPair(opts.out, key, { overwrite: opts.force === true });
      process.stdout.write(
        `${key.role} key ${key.kid} (${key.alg})\n` +
          `  private  ${paths.privateKey}  (mode 0600: keep it on this machine)\n` +
          `  public   ${paths.publicKey}\n` +
          `  publicKey ${Buffer.from(key.publicKey).toString('base64')}\n`,
      );
    });

  keys
    .command('show')
    .description('print who a key file belongs to (never the secret)')
    .argument('<file>', 'a .pub or .key file')
    .action((file: string) => {
      const key = loadPublicKey(file);
      process.stdout.write(
        `kid        ${key.kid}\nrole       ${key.role}\nalg        ${key.alg}\n` +
          `country    ${key.country ?? '-'}\ncreated    ${key.created}\n` +
          `publicKey  ${Buffer.from(key.publicKey).toString('base64')}\n`,
      );
    });

  const trust = keys.command('trust').description('the trust store of accepted signer and recipient keys');

  trust
    .command('add')
    .description('add public keys to a trust store (created when missing)')
    .requiredOption('--store <file>', 'trust store JSON file')
    .argument('<pub...>', 'public key files (.pub)')
    .option('--not-before <time>', 'objects signed before this are expired', parseTime('--not-before'))
    .option('--not-after <time>', 'objects signed after this are expired', parseTime('--not-after'))
    .action((pubs: string[], opts: { store: string; notBefore?: number; notAfter?: number }) => {
      const store = existsSync(opts.store) ? TrustStore.load(opts.store) : TrustStore.empty(opts.store);
      for (const file of pubs) {
        const key = loadPublicKey(file);
        store.add(key, {
          ...(opts.notBefore === undefined ? {} : { notBefore: opts.notBefore }),
          ...(opts.notAfter === undefined ? {} : { notAfter: opts.notAfter }),
        });
        process.stdout.write(`trusted ${key.role} key ${key.kid}\n`);
      }
      store.save(opts.store);
    });

  trust
    .command('revoke')
    .description('revoke a key: objects it signed at or after --at are reported as revoked')
    .requiredOption('--store <file>', 'trust store JSON file')
    .requiredOption('--kid <kid>', 'key id to revoke')
    .requiredOption('--reason <text>', 'why, e.g. "key compromise"')
    .option('--at <time>', 'revocation time (default now)', parseTime('--at'))
    .action((opts: { store: string; kid: string; reason: string; at?: number }) => {
      const store = TrustStore.load(opts.store);
      const entry = store.revoke(opts.kid, opts.at ?? Date.now(), opts.reason);
      store.save();
      process.stdout.write(`revoked ${entry.kid} at ${iso(entry.revokedAt)}: ${opts.reason}\n`);
    });

  trust
    .command('list')
    .description('list the keys of a trust store')
    .requiredOption('--store <file>', 'trust store JSON file')
    .action((opts: { store: string }) => {
      const store = TrustStore.load(opts.store);
      for (const k of store.list()) {
        const revoked =
          k.revokedAt === undefined ? '' : `  REVOKED ${iso(k.revokedAt)} (${k.revocationReason ?? ''})`;
        process.stdout.write(
          `${k.kid}  ${k.role}  ${k.alg}  ${k.country ?? '-'}  valid ${iso(k.notBefore)} .. ${iso(k.notAfter)}${revoked}\n`,
        );
      }
      if (store.size === 0) process.stdout.write('(empty)\n');
    });
}
