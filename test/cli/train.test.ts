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
  // The simulated train waits for the reader: it starts rolling when `train read` first
  // scans, however late that process starts on a loaded machine. At 2 m/s a wagon then stays
  // in range for about 60 simulated seconds, more than ten times what reading its locks takes.
  const sim = await startCli(
    ['ble-sim', '--link', link, '--locks', String(locks), '--speed', '2', '--time-scale', '2'],
    /read it with/,
  );
  t.teardown(() => stopCli(sim.child));
  return link;
}

t.test('a passing train read to the end: summary, exit 0', async (t) => {
  // One wagon, two locks: they come into range together, so the reader's quiet period (wall
  // time in its own process) cannot end the train between wagons whose gap is simulated time
  // in another process, which a loaded machine stretches. Trains of many wagons are read in
  // test/train/, where reader and train share one clock.
  const link = await radio(t, 'hci-a', 2);
  const r = await runCli(
    ['train', 'read', '--hci-uart', link, '--expect', '2', '--quiet-ms', '2500', '--json'],
    {
      timeoutMs: 30_000,
    },
  );
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const summary = JSON.parse(r.stdout);
  t.equal(summary.read, 2);
  t.equal(summary.missing, 0);
  t.match(r.stderr, /SSL-SIM-0001 .* read 4096\/4096 B/, 'plain progress lines when not on a terminal');
});

t.test('a lock expected but never heard: exit code of the transport category', async (t) => {
  const link = await radio(t, 'hci-b', 2);
  const r = await runCli(['train', 'read', '--hci-uart', link, '--expect', '3', '--quiet-ms', '2500'], {
    timeoutMs: 30_000,
  });
  t.equal(r.code, EXIT_CODES.transport, r.stderr.slice(-1000));
  t.match(r.stdout, /2 read, 0 skipped, 0 failed, 1 missing of 3 expected/);
});
