import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, stopCli } from '../helpers/cli.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

/** What `read` says it proved (issue 18): the manifest signature with --trust, and pinning. */

const dir = mkdtempSync(join(tmpdir(), 'ctop-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function simulator(t: { teardown: (fn: () => unknown) => void }, name: string, extra: string[] = []) {
  const link = join(dir, name);
  const sim = await startCli(['lock-sim', '--link', link, '--baud', '921600', ...extra], /read it with/);
  t.teardown(() => stopCli(sim.child));
  return { link, sim };
}

t.test(
  '--trust checks the manifest signature: valid 0, tampered 6, unknown signer 7 (every verdict: read-proof.test.ts)',
  async (t) => {
    const keys = testKeys(t);
    const cases: [string, number, RegExp, RegExp | undefined][] = [
      ['minimal.cose', 0, /signature {3}valid, signed by kz-customs-signer-1/, undefined],
      [
        'invalid/tampered.cose',
        EXIT_CODES.integrity,
        /signature {3}BAD_SIGNATURE/,
        /E_MANIFEST_BAD_SIGNATURE/,
      ],
      [
        'invalid/unknown-signer.cose',
        EXIT_CODES.manifest,
        /signature {3}UNKNOWN_SIGNER/,
        /E_MANIFEST_UNKNOWN_SIGNER/,
      ],
    ];
    for (const [file, code, out, err] of cases) {
      const name = file.replace(/\W/g, '-');
      const link = join(dir, name);
      const sim = await startCli(
        ['lock-sim', '--link', link, '--baud', '921600', '--manifest', join(FIXTURE_MANIFESTS_DIR, file)],
        /read it with/,
      );
      const r = await runCli([
        'read',
        '--serial',
        link,
        '--baud',
        '921600',
        '--out',
        join(dir, `${name}.out`),
        '--trust',
        keys.trustStoreFile,
      ]);
      await stopCli(sim.child);
      t.equal(r.code, code, `${file}: exit ${code}`);
      t.match(r.stdout, out, `${file}: says what the signature is`);
      if (err) t.match(r.stderr, err, `${file}: the code`);
      else t.notMatch(r.stderr, /E_[A-Z_]+/, `${file}: no error`);
      t.same(
        readFileSync(join(dir, `${name}.out`)),
        readFileSync(join(FIXTURE_MANIFESTS_DIR, file)),
        `${file}: kept as read`,
      );
    }
  },
);

t.test('pinning: --provisioned pins by lock id; --require-pin refuses an unpinned lock', async (t) => {
  const { link, sim } = await simulator(t, 'pins');
  const identity = /identity (\w{64})/.exec(sim.stdout())![1]!;
  const listed = join(dir, 'provisioned.yaml');
  writeFileSync(listed, `- lockId: SSL-KZ-000123\n  identityKey: ${identity}\n`);
  const other = join(dir, 'other.yaml');
  writeFileSync(other, `- lockId: SSL-KZ-999999\n  identityKey: ${identity}\n`);
  const base = ['read', '--serial', link, '--baud', '921600', '--out', join(dir, 'pins.out')];

  const pinned = await runCli([...base, '--provisioned', listed, '--require-pin', '--json']);
  t.equal(pinned.code, 0, pinned.stderr);
  t.equal(JSON.parse(pinned.stdout).identity, 'pinned');

  rmSync(join(dir, 'pins.out'), { force: true });
  const refused = await runCli([...base, '--provisioned', other, '--require-pin']);
  t.equal(refused.code, EXIT_CODES.integrity);
  t.match(refused.stderr, /E_LOCK_NOT_PINNED: no identity key is pinned for lock SSL-KZ-000123/);
  t.throws(() => statSync(join(dir, 'pins.out')), 'no manifest read from a refused lock');

  const usage = await runCli([...base, '--require-pin']);
  t.equal(usage.code, EXIT_CODES.usage);
  t.match(usage.stderr, /--require-pin needs --pin-key or --provisioned/);
});

t.test('read --help states every exit code', async (t) => {
  const r = await runCli(['read', '--help']);
  t.equal(r.code, 0);
  for (const code of [0, 2, 4, 5, 6, 7])
    t.match(r.stdout, new RegExp(`^ {2}${code} {2}\\S`, 'm'), `exit ${code}`);
  t.match(r.stdout, /Without --trust\s+the signature is NOT checked/);
});

t.test(
  '§7 the clean log: a sealed lock with a manifest and an empty log is a tamper finding, exit 6',
  async (t) => {
    const { link } = await simulator(t, 'empty-log', ['--log', 'empty']);
    const r = await runCli([
      'read',
      '--serial',
      link,
      '--baud',
      '921600',
      '--out',
      join(dir, 'empty-log.out'),
    ]);
    t.equal(r.code, EXIT_CODES.integrity, r.stderr);
    t.match(
      r.stderr,
      /E_LOCK_TAMPER.*empty_log: lock SSL-KZ-000123 is sealed and carries manifest [0-9a-f]{16}… but its event log is empty/,
    );
    const clean = await simulator(t, 'clean-log');
    const ok = await runCli([
      'read',
      '--serial',
      clean.link,
      '--baud',
      '921600',
      '--out',
      join(dir, 'clean-log.out'),
    ]);
    t.equal(ok.code, 0, `the clean log reads with exit 0: ${ok.stderr}`);
  },
);
