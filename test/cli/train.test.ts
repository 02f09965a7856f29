import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, stopCli } from '../helpers/cli.js';

/** `ctop-agent ble-sim` and `ctop-agent train read --hci-uart` as two real processes on a pty. */
const dir = mkdtempSync(join(tmpdir(), 'ctop-train-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function radio(
  t: { teardown: (fn: () => unknown) => void },
  name: string,
  locks: number,
  extra: string[] = [],
) {
  const link = join(dir, name);
  // The simulated train waits for the reader: it starts rolling when `train read` first
  // scans, however late that process starts on a loaded machine. At 2 m/s a wagon then stays
  // in range for about 60 simulated seconds, more than ten times what reading its locks takes.
  const sim = await startCli(
    ['ble-sim', '--link', link, '--locks', String(locks), '--speed', '2', '--time-scale', '2', ...extra],
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
  // Locks of revision 1.2, which announce no GATT handles: read by service discovery; and a
  // controller without a Filter Accept List: the reader connects one named lock at a time.
  const link = await radio(t, 'hci-b', 2, ['--no-announced-handles', '--accept-list-size', '0']);
  const r = await runCli(['train', 'read', '--hci-uart', link, '--expect', '3', '--quiet-ms', '2500'], {
    timeoutMs: 30_000,
  });
  t.equal(r.code, EXIT_CODES.transport, r.stderr.slice(-1000));
  t.match(r.stdout, /2 read, 0 skipped, 0 failed, 1 missing of 3 expected/);
});

t.test('ble-sim takes a fractional speed, the range, the radio intervals and 1.1 locks', async (t) => {
  const link = join(dir, 'hci-knobs');
  const sim = await startCli(
    [
      'ble-sim',
      '--link',
      link,
      '--locks',
      '1',
      '--speed',
      '2.78',
      '--range',
      '90',
      '--adv-interval',
      '200',
      '--conn-interval',
      '15',
      '--scanner-share',
      'leftover',
      // Locks of revision 1.1: the offer of binary framing ignored, base64 lines throughout.
      '--line-framing',
    ],
    /read it with/,
  );
  t.teardown(() => stopCli(sim.child));
  // A lock heard to 90 m (a strong signal), 2 × √(90² − 8²) m along the track at 2.78 m/s: a
  // minute in range, more than ten times what reading the lock takes, however late `train
  // read` starts. It comes from the simulation's horizon, 6 dB below the sensitivity (156 m),
  // heard once in a few seconds for the first twenty: the reader may give it up as gone there
  // and takes it up again when it is heard — the quiet that ends the train must outlast that.
  t.match(sim.stdout(), /speed 2\.78 m\/s \(10\.0 km\/h\) · range 90 m · each lock in range 64\.5 s/);
  t.match(sim.stdout(), /scanner share: leftover/);
  const r = await runCli(
    ['train', 'read', '--hci-uart', link, '--expect', '1', '--quiet-ms', '20000', '--json'],
    {
      timeoutMs: 90_000,
    },
  );
  t.equal(r.code, 0, r.stderr.slice(-2000));
  t.equal(JSON.parse(r.stdout).read, 1, 'the lock read with those settings');
});

t.test('ble-sim refuses a speed, range or interval out of bounds, naming the option', async (t) => {
  for (const [args, message] of [
    [['--speed', '0'], /--speed must be a number from 0\.1 to 40 m\/s, got "0"/],
    [['--speed', '10km/h'], /--speed must be a number/],
    [['--range', '5'], /--range must be a number from 10 to 300 m/],
    [['--adv-interval', '10'], /--adv-interval must be a number from 20 to 10240 ms/],
    [['--conn-interval', '5000'], /--conn-interval must be a number from 7\.5 to 4000 ms/],
    [['--phy', '3m'], /--phy must be one of 1m, 2m, got "3m"/],
    [['--sensitivity', '-20'], /--sensitivity must be a number from -110 to -40 dBm, got "-20"/],
    [['--accept-list-size', '256'], /--accept-list-size must be an integer from 0 to 255, got "256"/],
    [['--scanner-share', 'half'], /--scanner-share must be one of preempt, contender, leftover, got "half"/],
  ] as const) {
    const r = await runCli(['ble-sim', '--link', join(dir, 'never'), ...args]);
    t.equal(r.code, EXIT_CODES.usage, args.join(' '));
    t.match(r.stderr, message);
  }
});
