import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, stopCli } from '../helpers/cli.js';

/** `ctop-agent ble-sim` and `ctop-agent train read --hci-uart` as two real processes on a pty. */
const dir = mkdtempSync(join(tmpdir(), 'ctop-train-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function radio(t: { teardown: (fn: () => unknown) => void }, name: string, locks: number) {
  const link = join(dir, name);
  // The train rolls from the simulator's start, not from the reader's: at 2 m/s the first
  // wagon stays in range for about 30 s of wall time, time enough for `train read` to start
  // on a loaded machine (at 10 m/s it once passed before the reader was listening).
  const sim = await startCli(
    ['ble-sim', '--link', link, '--locks', String(locks), '--speed', '2', '--time-scale', '2'],
    /read it with/,
  );
  t.teardown(() => stopCli(sim.child));
  return link;
}

t.test('a passing train read to the end: summary, exit 0', async (t) => {
  const link = await radio(t, 'hci-a', 4);
  const r = await runCli(
    ['train', 'read', '--hci-uart', link, '--expect', '4', '--quiet-ms', '2500', '--json'],
    {
      timeoutMs: 90_000,
    },
  );
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const summary = JSON.parse(r.stdout);
  t.equal(summary.read, 4);
  t.equal(summary.missing, 0);
  t.match(r.stderr, /SSL-SIM-0001 .* read 4096\/4096 B/, 'plain progress lines when not on a terminal');
});

t.test('a lock expected but never heard: exit code of the transport category', async (t) => {
  const link = await radio(t, 'hci-b', 2);
  const r = await runCli(['train', 'read', '--hci-uart', link, '--expect', '3', '--quiet-ms', '2500'], {
    timeoutMs: 90_000,
  });
  t.equal(r.code, EXIT_CODES.transport, r.stderr.slice(-1000));
  t.match(r.stdout, /2 read, 0 skipped, 0 failed, 1 missing of 3 expected/);
});
