import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, stopCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ctop-conformance-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function lockSim(t: { teardown: (fn: () => unknown) => void }, name: string, extra: string[] = []) {
  const link = join(dir, name);
  const sim = await startCli(['lock-sim', '--link', link, '--baud', '115200', ...extra], /read it with/);
  t.teardown(() => stopCli(sim.child));
  return { link, identity: /identity (\w{64})/.exec(sim.stdout())![1]! };
}

t.test('conformance lock against the simulator: the table, exit 0, the JSON report', async (t) => {
  const { link, identity } = await lockSim(t, 'good');
  const report = join(dir, 'good.json');
  const r = await runCli([
    'conformance',
    'lock',
    '--serial',
    link,
    '--baud',
    '115200',
    '--pin-key',
    identity,
    '--report',
    report,
    '--only',
    'session',
    'events',
  ]);
  t.equal(r.code, 0, r.stderr);
  // The one table and JSON format of every conformance kit (src/conformance/report.ts).
  t.match(r.stdout, /^SECTION +LEVEL +RESULT +REQUIREMENT +EVIDENCE/m);
  t.match(r.stdout, /PROTOCOL\.md §4\.1, 6 +MUST +PASS +HELLO-1: .* +HELLO_R in frame version 1/);
  t.match(r.stdout, /MUST +PASS +AUTH-2: /);
  t.match(r.stdout, /MUST +PASS +EV-3: .* +commit #1 names the manifest/);
  t.match(r.stdout, /notRun: .*READ-1/);
  t.match(r.stdout, /MUST \d+ passed, 0 failed, \d+ not checked.*CONFORMS/);
  const json = JSON.parse(readFileSync(report, 'utf8'));
  t.equal(json.format, 'ctop-conformance/1');
  t.equal(json.target, 'lock');
  t.equal(json.passed, true);
  t.equal(json.subject.lockId, 'SSL-KZ-000123');
  t.equal(json.subject.firmware, 'sim-1.0.0');
  t.ok(json.checks.some((x: { id: string; outcome: string }) => x.id === 'EV-2' && x.outcome === 'pass'));
});

t.test('a lock that answers a repeated seq twice: SESS-2 FAIL, exit 5', async (t) => {
  const { link } = await lockSim(t, 'dup', ['--answer-duplicates', '--log', 'empty']);
  const r = await runCli(['conformance', 'lock', '--serial', link, '--only', 'hostile', 'events']);
  t.equal(r.code, EXIT_CODES.protocol);
  t.match(
    r.stdout,
    /MUST +FAIL +SESS-2: .* +the same INFO frame \(seq 0x[0-9a-f]{4}\) sent twice: answered 2 time\(s\)/,
  );
  t.match(r.stdout, /MUST +FAIL +EV-3: .* +the log is empty/);
  t.match(r.stdout, /MUST \d+ passed, 2 failed, .*DOES NOT CONFORM/);
  t.match(r.stderr, /E_CONFORMANCE_LOCK: MUST requirements not met: SESS-2, EV-3/);
});

t.test('no such device: the transport exit code, no table', async (t) => {
  const r = await runCli(['conformance', 'lock', '--serial', join(dir, 'nothing')]);
  t.equal(r.code, EXIT_CODES.transport);
  t.match(r.stderr, /E_TRANSPORT_OPEN/);
});
