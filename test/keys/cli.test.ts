import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { loadPrivateKey, TrustStore } from '../../src/keys/index.js';
import { runCli } from '../helpers/cli.js';

t.test('keys gen, show, trust add / list / revoke', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-keys-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'keys');

  const gen = await runCli([
    'keys',
    'gen',
    '--role',
    'signer',
    '--kid',
    'kz-customs-signer-1',
    '--country',
    'KZ',
    '--out',
    out,
  ]);
  t.equal(gen.code, 0, gen.stderr);
  t.match(gen.stdout, /signer key kz-customs-signer-1 \(Ed25519\)/);
  const keyFile = path.join(out, 'kz-customs-signer-1.key');
  t.equal(statSync(keyFile).mode & 0o777, 0o600);
  t.equal(statSync(out).mode & 0o777, 0o700, 'a new key directory is owner-only');
  t.equal(loadPrivateKey(keyFile).country, 'KZ');

  const again = await runCli([
    'keys',
    'gen',
    '--role',
    'signer',
    '--kid',
    'kz-customs-signer-1',
    '--out',
    out,
  ]);
  t.equal(again.code, EXIT_CODES.usage);
  t.match(again.stderr, /E_KEY_EXISTS/);

  const recipient = await runCli([
    'keys',
    'gen',
    '--role',
    'recipient',
    '--kid',
    'kz-customs-recipient-1',
    '--out',
    out,
  ]);
  t.equal(recipient.code, 0);
  t.match(recipient.stdout, /recipient key kz-customs-recipient-1 \(X25519\)/);

  const badRole = await runCli(['keys', 'gen', '--role', 'admin', '--kid', 'x', '--out', out]);
  t.equal(badRole.code, EXIT_CODES.usage);

  const show = await runCli(['keys', 'show', path.join(out, 'kz-customs-signer-1.pub')]);
  t.equal(show.code, 0);
  t.match(show.stdout, /kid +kz-customs-signer-1\nrole +signer\nalg +Ed25519\ncountry +KZ/);
  t.notMatch(show.stdout, /secret/i);

  const store = path.join(dir, 'trust.json');
  const add = await runCli([
    'keys',
    'trust',
    'add',
    '--store',
    store,
    '--not-after',
    '2027-12-31T23:59:59Z',
    path.join(out, 'kz-customs-signer-1.pub'),
    path.join(out, 'kz-customs-recipient-1.pub'),
  ]);
  t.equal(add.code, 0, add.stderr);
  t.equal(TrustStore.load(store).size, 2);

  const revoke = await runCli([
    'keys',
    'trust',
    'revoke',
    '--store',
    store,
    '--kid',
    'kz-customs-signer-1',
    '--at',
    '2026-01-01T00:00:00Z',
    '--reason',
    'key compromise',
  ]);
  t.equal(revoke.code, 0, revoke.stderr);
  const list = await runCli(['keys', 'trust', 'list', '--store', store]);
  t.match(
    list.stdout,
    /kz-customs-signer-1 +signer +Ed25519 +KZ +valid - \.\. 2027-12-31T23:59:59\.000Z +REVOKED 2026-01-01T00:00:00\.000Z \(key compromise\)/,
  );
  t.match(list.stdout, /kz-customs-recipient-1 +recipient +X25519/);
  t.match(JSON.parse(readFileSync(store, 'utf8')).keys[0], {
    revokedAt: '2026-01-01T00:00:00.000Z',
    revocationReason: 'key compromise',
  });
});
