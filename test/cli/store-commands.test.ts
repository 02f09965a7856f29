import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { generateKey, writeKeyPair } from '../../src/keys/index.js';
import { inspectManifest } from '../../src/manifest/index.js';
import { openStore } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { TestLock, tempDir } from '../helpers/store.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

const keys = testKeys(t);
const dir = tempDir(t, 'ctop-cli-store-');
const db = path.join(dir, 'agent.db');
const fixture = (name: string) => readFileSync(path.join(FIXTURE_MANIFESTS_DIR, name));

// A gateway that read three locks: two genuine manifests, one tampered; one acknowledged.
const ids: Record<string, string> = {};
{
  const store = openStore({ path: db, trustOnFirstUse: true });
  const trust = keys.trustStore();
  const reads: [string, string][] = [
    ['wheat', 'wheat-kostanay-urumqi.cose'],
    ['electronics', 'electronics-xian-duisburg.cose'],
    ['tampered', 'invalid/tampered.cose'],
  ];
  for (const [i, [name, file]] of reads.entries()) {
    const bytes = fixture(file);
    const inspection = inspectManifest(bytes, trust);
    const lock = new TestLock(inspection.routing?.lockId ?? `SSL-XX-00000${i}`, i + 1, bytes).log({
      kind: 1,
      time: 1_758_000_000,
    });
    const r = ingestRecord(store, { read: lock.read({}, Date.UTC(2025, 8, 18, 6 + i)), inspection });
    ids[name] = r.manifest!.manifestId;
  }
  const [first] = store.outbox.claimDue(Date.now(), 1);
  store.outbox.acknowledge(first!.id, { bytes: Buffer.from('receipt'), status: 'accepted', at: Date.now() });
  store.close();
}

t.test('manifests list: a table, filters, status; nothing created for a wrong --db', async (t) => {
  const [all, byContainer, flagged, bad, missing] = await Promise.all([
    runCli(['manifests', 'list', '--db', db]),
    runCli(['manifests', 'list', '--db', db, '--container', 'fciu5093182']),
    runCli(['manifests', 'list', '--db', db, '--status', 'flagged', '--json']),
    runCli(['manifests', 'list', '--db', db, '--status', 'bogus']),
    runCli(['manifests', 'list', '--db', path.join(dir, 'typo.db')]),
  ]);
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /RECEIVED +CONTAINER +WAGON/);
  t.match(all.stdout, /FCIU5093182/);
  t.match(all.stdout, /TGHU8823466/);
  t.match(all.stdout, /BAD_SIGNATURE/);
  t.match(all.stdout, /acknowledged/);
  t.equal(all.stdout.trim().split('\n').length, 5, 'header, rule, three rows');
  t.equal(byContainer.code, 0);
  t.equal(byContainer.stdout.trim().split('\n').length, 3);
  t.match(byContainer.stdout, /KOSTANAY→URUMQI-N/);
  t.equal(flagged.code, 0);
  t.same(
    JSON.parse(flagged.stdout).map((m: { manifestId: string }) => m.manifestId),
    [ids.tampered],
  );
  t.equal(bad.code, EXIT_CODES.usage);
  t.match(bad.stderr, /E_USAGE/);
  t.equal(missing.code, EXIT_CODES.store);
  t.match(missing.stderr, /E_STORE_OPEN/);
  t.notOk(existsSync(path.join(dir, 'typo.db')), 'a read-only view never creates a database');
});

t.test(
  'manifests show: by container or id prefix; --decrypt shows the goods of a valid manifest only',
  async (t) => {
    const recipient = keys.keyFile('kz-customs-recipient-1');
    const [byContainer, decrypted, evidence, unknown, noKey] = await Promise.all([
      runCli(['manifests', 'show', 'FCIU5093182', '--db', db]),
      runCli([
        'manifests',
        'show',
        ids.wheat!.slice(0, 10),
        '--decrypt',
        '--key',
        recipient,
        '--trust',
        keys.trustStoreFile,
        '--db',
        db,
      ]),
      runCli([
        'manifests',
        'show',
        ids.tampered!,
        '--decrypt',
        '--key',
        recipient,
        '--trust',
        keys.trustStoreFile,
        '--db',
        db,
      ]),
      runCli(['manifests', 'show', 'ZZZU0000000', '--db', db]),
      runCli(['manifests', 'show', 'FCIU5093182', '--decrypt', '--db', db]),
    ]);
    t.equal(byContainer.code, 0, byContainer.stderr);
    t.match(byContainer.stdout, new RegExp(`manifest +${ids.wheat}`));
    t.match(byContainer.stdout, /status +VALID/);
    t.match(byContainer.stdout, /sync +(acknowledged|queued)/);
    t.match(byContainer.stdout, /reads \(1\)/);
    t.match(byContainer.stdout, /trusted/);
    t.notMatch(byContainer.stdout, /Goods/, 'no goods without --decrypt');
    t.equal(decrypted.code, 0, decrypted.stderr);
    t.match(decrypted.stdout, /Goods \(1 line\)/);
    t.match(decrypted.stdout, /1001990000/);
    t.equal(evidence.code, EXIT_CODES.integrity, 'a tampered manifest is never decrypted');
    t.match(evidence.stderr, /E_MANIFEST_BAD_SIGNATURE/);
    t.match(evidence.stdout, /BAD_SIGNATURE — not valid data/);
    t.match(evidence.stdout, /alerts \(1\)/);
    t.equal(unknown.code, EXIT_CODES.usage);
    t.match(unknown.stderr, /E_STORE_NOT_FOUND/);
    t.equal(noKey.code, EXIT_CODES.usage);
  },
);

t.test('locks list and outbox status', async (t) => {
  const [locks, outbox, outboxJson] = await Promise.all([
    runCli(['locks', 'list', '--db', db]),
    runCli(['outbox', 'status', '--db', db]),
    runCli(['outbox', 'status', '--db', db, '--json']),
  ]);
  t.equal(locks.code, 0, locks.stderr);
  t.match(locks.stdout, /SSL-KZ-000123 +[0-9a-f]{16} +tofu/);
  t.match(locks.stdout, /SSL-CN-000457/);
  t.equal(outbox.code, 0, outbox.stderr);
  t.match(outbox.stdout, /acknowledged +1/);
  t.match(outbox.stdout, /oldest unacknowledged: \d+/);
  t.match(outbox.stdout, /store: ok/);
  const status = JSON.parse(outboxJson.stdout);
  t.equal(status.counts.acknowledged, 1);
  t.equal(status.counts.queued, 6, '3 manifests + 3 event rows + 1 alert, less the acknowledged one');
});

t.test('export writes a signed owner-only bundle; import checks the signer and deduplicates', async (t) => {
  const gw = generateKey('gateway', 'gw-dostyk-1', { country: 'KZ' });
  const gwFiles = writeKeyPair(path.join(dir, 'gw-keys'), gw);
  const bundle = path.join(dir, 'out.bundle');
  const other = path.join(dir, 'other.db');
  const exported = await runCli([
    'export',
    '--since',
    '2025-01-01',
    '--out',
    bundle,
    '--key',
    gwFiles.privateKey,
    '--db',
    db,
  ]);
  t.equal(exported.code, 0, exported.stderr);
  t.match(exported.stdout, /3 manifests, 3 reads, 3 lock events, 1 alerts, 3 locks/);
  t.equal(statSync(bundle).mode & 0o777, 0o600);
  const wrongKey = await runCli([
    'export',
    '--since',
    '48h',
    '--out',
    path.join(dir, 'x'),
    '--key',
    keys.keyFile('kz-customs-signer-1'),
    '--db',
    db,
  ]);
  t.equal(wrongKey.code, EXIT_CODES.usage);
  t.match(wrongKey.stderr, /E_KEY_ROLE/);

  const untrusted = await runCli(['import', bundle, '--trust', keys.trustStoreFile, '--db', other]);
  t.equal(untrusted.code, EXIT_CODES.integrity, 'the test trust store has no gateway key');
  t.match(untrusted.stderr, /E_BUNDLE_SIGNATURE/);
  const imported = await runCli(['import', bundle, '--signer', gwFiles.publicKey, '--db', other]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /manifests +3 new, 0 already stored/);
  t.equal(statSync(other).mode & 0o777, 0o600);
  const again = await runCli(['import', bundle, '--signer', gwFiles.publicKey, '--db', other]);
  t.match(again.stdout, /already imported/);
  const list = await runCli(['manifests', 'list', '--db', other]);
  t.match(list.stdout, /FCIU5093182/);
  const neither = await runCli(['import', bundle, '--db', other]);
  t.equal(neither.code, EXIT_CODES.usage);
});

t.test('a database readable by others is refused with the chmod to run', async (t) => {
  chmodSync(db, 0o644);
  t.teardown(() => chmodSync(db, 0o600));
  const r = await runCli(['locks', 'list', '--db', db]);
  t.equal(r.code, EXIT_CODES.security);
  t.match(r.stderr, /E_STORE_PERMISSIONS/);
  t.match(r.stderr, `chmod 600 '${db}'`);
});
