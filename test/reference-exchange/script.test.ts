import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { ExchangeDb } from '../../src/reference-exchange/index.js';
import { REFERENCE_EXCHANGE as SCRIPT } from '../helpers/exchange-commands.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import { makeSyncWorld, seedOutbox, startEngine, waitFor } from '../helpers/sync-world.js';

t.test('scripts/exchange.ts runs the reference exchange as a process and stops cleanly', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const db = path.join(world.dir, 'exchange.db');
  const child = spawn(
    process.execPath,
    [
      SCRIPT,
      '--broker',
      broker.url,
      '--db',
      db,
      '--key',
      world.files.exchangeKey,
      '--trust',
      world.files.exchangeTrust,
      '--protocol',
      '4',
      '--report',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  await waitFor(() => stdout.includes('ready'), 30_000, 'the exchange to be ready');
  t.match(stdout, /exchange CTOP:\/\/KZ\/EXCHANGE ready/);

  const { store } = openTestStore(t, { clock: systemClock });
  seedOutbox(store, 5);
  await startEngine(t, world, store, [broker.url]);
  await waitFor(
    () => store.outbox.status(Date.now()).counts.acknowledged === 5,
    15_000,
    'receipts from the script',
  );

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(stdout, /"accepted":5/, 'the counters are printed on exit');
  const recorded = new ExchangeDb(db);
  t.teardown(() => recorded.close());
  t.equal(recorded.all().length, 5, 'its database holds the messages');
});

t.test('scripts/exchange.ts refuses a bad configuration with a code', async (t) => {
  const world = makeSyncWorld(t);
  const child = spawn(
    process.execPath,
    [
      SCRIPT,
      '--broker',
      'mqtt://127.0.0.1:1',
      '--db',
      path.join(world.dir, 'x.db'),
      '--key',
      world.files.gatewayKey,
      '--trust',
      world.files.exchangeTrust,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.equal(code, 3, 'config exit code');
  t.match(stderr, /E_EXCHANGE_CONFIG/);
  t.match(stderr, /gateway/, 'names the wrong key role');
});
