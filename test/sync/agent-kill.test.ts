import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { seededRandom } from '../../src/sim/prng.js';
import { openStore } from '../../src/store/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import {
  assertExactlyOnce,
  makeSyncWorld,
  seedOutbox,
  startTestExchange,
  testSyncConfig,
  waitFor,
} from '../helpers/sync-world.js';

const CHILD = fileURLToPath(new URL('./fixtures/agent-child.ts', import.meta.url));
const KILLS = Number(process.env.CTOP_SYNC_KILLS ?? 50);

function spawnAgent(config: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, config], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function ready(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`agent not ready in ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${code ?? signal}) before ready: ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

t.test(
  `the agent SIGKILLed at random ${KILLS} times during a drain: 0 lost, 0 duplicated at the exchange`,
  async (t) => {
    const seed = Number(process.env.CTOP_SYNC_KILL_SEED ?? Date.now() % 2 ** 31);
    t.comment(`seed ${seed} (CTOP_SYNC_KILL_SEED replays the run)`);
    const random = seededRandom(seed);
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const exchange = await startTestExchange(t, world, broker.url);
    const db = path.join(world.dir, 'agent.db');
    const store = openStore({ path: db, clock: systemClock });
    t.teardown(() => store.close());
    seedOutbox(store, 600);
    const config = path.join(world.dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        db,
        gatewayKey: world.files.gatewayKey,
        trust: world.files.agentTrust,
        sync: testSyncConfig([broker.url], { claimBatch: 8, maxInFlight: 16, receiptTimeoutMs: 1000 }),
        backoff: { baseMs: 50, maxMs: 200 },
      }),
    );
    const children = new Set<ChildProcess>();
    t.teardown(() => {
      for (const c of children) c.kill('SIGKILL');
    });
    const unacknowledged = () => {
      const { counts } = store.outbox.status(Date.now());
      return counts.queued + counts.in_flight;
    };

    let kills = 0;
    let topUps = 0;
    while (kills < KILLS) {
      const child = spawnAgent(config);
      children.add(child);
      await ready(child);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 250)));
      const waiting = unacknowledged();
      child.kill('SIGKILL');
      await exited(child);
      children.delete(child);
      if (waiting > 0) kills++;
      if (unacknowledged() === 0) {
        seedOutbox(store, 150, { tag: `top-up-${++topUps}` });
      }
    }
    t.comment(`${kills} kills during the drain, ${topUps} top-ups`);

    const last = spawnAgent(config);
    children.add(last);
    await ready(last);
    await waitFor(() => unacknowledged() === 0, 60_000, 'the last run to drain everything', 50);
    last.kill('SIGTERM');
    t.equal(await exited(last), 0, 'a graceful stop exits 0');
    children.delete(last);

    t.equal(kills, KILLS);
    assertExactlyOnce(t, store, exchange);
    t.same(exchange.db.rejections(), [], 'nothing rejected');
    t.ok(
      exchange.stats.duplicates > 0,
      `resends after the kills arrived (${exchange.stats.duplicates}) and were recorded once`,
    );
  },
);
