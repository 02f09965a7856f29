import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, stopCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ctop-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function simulator(t: { teardown: (fn: () => unknown) => void }, name: string, extra: string[] = []) {
  const link = join(dir, name);
  const manifest = join(dir, `${name}.manifest`);
  writeFileSync(manifest, Buffer.from(`manifest of ${name} `.repeat(300)));
  const sim = await startCli(
    ['lock-sim', '--link', link, '--baud', '921600', '--manifest', manifest, ...extra],
    /read it with/,
  );
  t.teardown(() => stopCli(sim.child));
  return { link, manifest, sim };
}

t.test('lock-sim + read: manifest written owner-only, info printed, exit 0', async (t) => {
  const { link, manifest, sim } = await simulator(t, 'good');
  const out = join(dir, 'good.out');
  const r = await runCli(['read', '--serial', link, '--baud', '921600', '--out', out]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /lock {8}SSL-KZ-000123/);
  t.match(r.stdout, /seal {8}sealed/);
  t.match(r.stdout, /event #2 .* sealed/);
  t.same(readFileSync(out), readFileSync(manifest));
  t.equal(statSync(out).mode & 0o777, 0o600);
  const identity = /identity (\w{64})/.exec(sim.stdout())![1]!;
  t.match(r.stdout, new RegExp(`key {9}${identity}`));
  t.match(r.stdout, /identity {4}first use, not pinned: the lock proved it holds this key/);
  t.match(r.stdout, /signature {3}manifest signature not checked \(give --trust <file> to check it\)/);
  t.notMatch(r.stdout, /verified/);

  // Replacing a file others could read: the manifest must not inherit its mode.
  chmodSync(out, 0o644);
  const pinned = await runCli([
    'read',
    '--serial',
    link,
    '--baud',
    '921600',
    '--out',
    out,
    '--pin-key',
    identity,
    '--json',
  ]);
  t.equal(pinned.code, 0);
  const json = JSON.parse(pinned.stdout);
  t.equal(json.outcome, 'complete');
  t.equal(json.identity, 'pinned');
  t.equal(json.manifestSignature, 'not checked');
  t.equal(json.manifestBytes, readFileSync(manifest).byteLength);
  t.equal(statSync(out).mode & 0o777, 0o600, 'owner-only again after replacing a 0644 file');
});

t.test('a cloned lock: exit code of the integrity category, no manifest written', async (t) => {
  const { link } = await simulator(t, 'clone', ['--cloned']);
  const out = join(dir, 'clone.out');
  const r = await runCli(['read', '--serial', link, '--baud', '921600', '--out', out]);
  t.equal(r.code, EXIT_CODES.integrity);
  t.match(r.stderr, /E_LOCK_CLONED/);
  t.match(r.stderr, /what to do: treat the container as suspect/);
  t.throws(() => statSync(out));
});

t.test('a device that does not exist: transport exit code', async (t) => {
  const r = await runCli([
    'read',
    '--serial',
    join(dir, 'nothing'),
    '--attempts',
    '1',
    '--out',
    join(dir, 'x'),
  ]);
  t.equal(r.code, EXIT_CODES.transport);
  t.match(r.stderr, /E_TRANSPORT_OPEN/);
});

t.test('--read-deadline: a lock silent after three answers fails on the deadline given, final', async (t) => {
  const { link } = await simulator(t, 'stall', ['--stall-after', '3', '--stall-ms', '600000']);
  const out = join(dir, 'stall.out');
  const r = await runCli([
    'read',
    '--serial',
    link,
    '--baud',
    '921600',
    '--out',
    out,
    '--read-deadline',
    '3',
    '--json',
  ]);
  t.equal(r.code, EXIT_CODES.transport, r.stderr);
  const json = JSON.parse(r.stdout);
  t.equal(json.outcome, 'failed');
  t.equal(json.error.code, 'E_LOCK_TIMEOUT');
  t.match(json.error.message, /no valid answer for 3 s \(read deadline\)/);
  t.equal(json.stats.links, 1, 'the deadline is final: no second link for the same silence');
  t.throws(() => statSync(out), 'no manifest written');
  const tooLong = await runCli(['read', '--serial', link, '--out', out, '--read-deadline', '31']);
  t.equal(tooLong.code, EXIT_CODES.usage, 'above the 30 s of §10: refused');
  t.match(tooLong.stderr, /--read-deadline/);
});

t.test(
  'a genuine slow lock (2 s per answer) is read whole: the deadline runs from the last answer',
  async (t) => {
    const { link, manifest } = await simulator(t, 'slow', ['--latency-ms', '2000']);
    const out = join(dir, 'slow.out');
    const r = await runCli(['read', '--serial', link, '--baud', '921600', '--out', out, '--json']);
    t.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    t.equal(json.outcome, 'complete');
    t.same(readFileSync(out), readFileSync(manifest));
    // Ten requests at 2 s each: longer than the 15 s deadline in all, never 15 s without an answer.
    t.ok(json.durationMs > 15_000, `the read took ${json.durationMs} ms, more than the deadline`);
    t.equal(json.stats.links, 1);
  },
);

t.test('bad option values: usage exit code naming the option', async (t) => {
  const r = await runCli(['read', '--serial', '/dev/null', '--baud', 'fast', '--out', 'x']);
  t.equal(r.code, EXIT_CODES.usage);
  t.match(r.stderr, /--baud must be an integer/);
  const missing = await runCli(['read', '--out', 'x']);
  t.equal(missing.code, EXIT_CODES.usage);
  t.match(missing.stderr, /--serial/);
});
