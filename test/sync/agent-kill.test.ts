import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { seededRandom } from '../../src/sim/prng.js';
import { openStore } from '../../src/store/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { net } from '../helpers/patience.js';
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

interface Agent {
  child: ChildProcess;
  loaded: Promise<void>;
  ready: Promise<void>;
}

/** Starts an agent process; it loads its modules, then waits for `go` before touching the store. */
function spawnAgent(config: string, timeoutMs = 6_000): Agent {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, config], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const seen = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent not ${word} in ${net(timeoutMs)} ms: ${err}`)),
        net(timeoutMs),
      );
      const check = () => {
        if (!out.includes(`${word}\n`)) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`agent exited (${code ?? signal}) before ${word}: ${err}`));
      });
    });
  const agent = { child, loaded: seen('loaded'), ready: seen('ready') };
  // A killed agent rejects these; only the awaited ones matter.
  agent.loaded.catch(() => undefined);
  agent.ready.catch(() => undefined);
  return agent;
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
    seedOutbox(store, 1000);
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
    // The next agent loads its modules while the current one drains; it touches the store
    // only once told to go, after the current one is dead.
    let next = spawnAgent(config);
    children.add(next.child);
    while (kills < KILLS) {
      const current = next;
      await current.loaded;
      current.child.stdin!.write('go\n');
      next = spawnAgent(config);
      children.add(next.child);
      await current.ready;
      await new Promise((r) => setTimeout(r, Math.floor(random() * 1000)));
      const waiting = unacknowledged();
      current.child.kill('SIGKILL');
      await exited(current.child);
      children.delete(current.child);
      if (waiting > 0) kills++;
      if (unacknowledged() === 0) seedOutbox(store, 400, { tag: `top-up-${++topUps}` });
    }
    t.comment(`${kills} kills during the drain, ${topUps} top-ups`);

    const last = next;
    await last.loaded;
    last.child.stdin!.write('go\n');
    await last.ready;
    await waitFor(() => unacknowledged() === 0, 60_000, 'the last run to drain everything', 50);
    last.child.kill('SIGTERM');
    t.equal(await exited(last.child), 0, 'a graceful stop exits 0');
    children.delete(last.child);

    t.equal(kills, KILLS);
    assertExactlyOnce(t, store, exchange);
    t.same(exchange.db.rejections(), [], 'nothing rejected');
    t.ok(
      exchange.stats.duplicates > 0,
      `resends after the kills arrived (${exchange.stats.duplicates}) and were recorded once`,
    );
  },
);
