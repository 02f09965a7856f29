/**
 * Broker sessions benchmark (issue 23): what a broker that keeps MQTT sessions in memory
 * only (ejabberd) costs the sync, against mosquitto with persistence measured in the same
 * run, both with the agent's default timing (receipt timeout 30 s, backoff from 5 s):
 *
 * (a) broker restart mid-drain: the broker is stopped after 100 of 300 rows were settled,
 *     started again 2 s later; time from the broker being back to the last receipt. Both the
 *     gateway and the exchange reconnect; without sessions, what the gateway sends before
 *     the exchange has subscribed again is dropped and goes again after the receipt timeout
 *     — or not, when the exchange was quicker: both outcomes occur.
 * (b) the exchange away across a broker restart: 100 rows sent while the exchange is
 *     disconnected. mosquitto queues them in the exchange's session; ejabberd lost that
 *     session and drops them (PUBACK 0x10, no matching subscribers). Time from the exchange
 *     being back to the last receipt.
 *
 * (c) the drain rate through each broker (1000 rows), for the bound of (a) and because
 *     ejabberd hands a subscriber one QoS 1 message at a time.
 *
 * Every run ends with every row at the exchange exactly once (checked). BENCH_BROKERS_RUNS
 * (default 3) runs of (a) and (b).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/clock.js';
import { type Exchange, startExchange } from '../../src/reference-exchange/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { SyncEngine } from '../../src/sync/index.js';
import { Ejabberd } from '../../test/helpers/ejabberd.js';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { seedOutbox, waitFor } from '../../test/helpers/sync-world.js';
import { type BenchFigure, writeBenchResults } from './lib.js';
import { IDENTITY, median, type Parties, parties, sleep } from './sync/fixtures.js';

const RUNS = Number(process.env.BENCH_BROKERS_RUNS ?? 3);
const RECEIPT_TIMEOUT_MS = 30_000;
const users = { [IDENTITY.gatewayId]: 'bench-gateway-password', exchange: 'bench-exchange-password' };

interface Broker {
  name: string;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

async function mosquitto(): Promise<Broker> {
  const m = await Mosquitto.start({ persistence: true, users });
  return {
    name: 'mosquitto (persistence)',
    url: m.url,
    stop: () => m.stop(),
    restart: () => m.restart(),
    dispose: () => m.dispose(),
  };
}

async function ejabberd(): Promise<Broker> {
  const e = await Ejabberd.start({ users });
  return {
    name: 'ejabberd (sessions in memory)',
    url: e.url,
    stop: () => e.stop(),
    restart: () => e.restart(),
    dispose: () => e.dispose(),
  };
}

interface Run {
  /** Broker (or exchange) back → last receipt, ms. */
  recoveryMs: number;
  /** Sends that got no receipt within the receipt timeout and went again. */
  timedOut: number;
  /** Did the gateway find its session after the restart? */
  sessionPresent: boolean;
}

function world(p: Parties, broker: Broker, tag: string) {
  const passwordFile = path.join(p.dir, 'gateway-password');
  writeFileSync(passwordFile, users[IDENTITY.gatewayId]!, { mode: 0o600 });
  const store = openStore({ path: path.join(p.dir, `agent-${tag}.db`), clock: systemClock });
  const engine = new SyncEngine({
    store,
    gatewayKey: p.gatewayKey,
    trust: p.agentTrust,
    config: {
      ...IDENTITY,
      brokers: [broker.url],
      username: IDENTITY.gatewayId,
      passwordFile,
      receiptTimeoutMs: RECEIPT_TIMEOUT_MS,
    },
  });
  const exchangeDb = path.join(p.dir, `exchange-${tag}.db`);
  const exchange = () =>
    startExchange({
      brokerUrl: broker.url,
      dbPath: exchangeDb,
      key: p.exchangeKey,
      trust: p.exchangeTrust,
      username: 'exchange',
      password: Buffer.from(users.exchange!),
    });
  let timedOut = 0;
  let sessionPresent = true;
  engine.on('retry', (r) => {
    if (r.reason.startsWith('no receipt')) timedOut++;
  });
  engine.on('connected', (c) => {
    sessionPresent = c.sessionPresent;
  });
  return {
    store,
    engine,
    exchange,
    counters: () => ({ timedOut, sessionPresent }),
    reset: () => {
      timedOut = 0;
    },
  };
}

const backlog = (store: Store) => {
  const { counts } = store.outbox.status(Date.now());
  return counts.queued + counts.in_flight;
};

/** Each row once at the exchange, under the messageId the gateway recorded. */
function checkExactlyOnce(store: Store, exchange: Exchange): void {
  const rows = store.db.prepare("SELECT message_id FROM outbox WHERE state = 'acknowledged'").pluck().all();
  const ids = new Set(exchange.db.all().map((m) => m.messageId));
  if (ids.size !== exchange.db.all().length) throw new Error('a message is at the exchange twice');
  for (const id of rows)
    if (!ids.has(id as string)) throw new Error(`${id} acknowledged but not at the exchange`);
}

async function restartMidDrain(p: Parties, make: () => Promise<Broker>, tag: string): Promise<Run[]> {
  const broker = await make();
  const w = world(p, broker, `a-${tag}`);
  const exchange = await w.exchange();
  const runs: Run[] = [];
  try {
    await w.engine.start();
    for (let run = 0; run < RUNS; run++) {
      const acknowledgedBefore = w.store.outbox.status(Date.now()).counts.acknowledged;
      seedOutbox(w.store, 300, { tag: `drain-${tag}-${run}` });
      w.engine.kick();
      w.reset();
      await waitFor(
        () => w.store.outbox.status(Date.now()).counts.acknowledged >= acknowledgedBefore + 100,
        120_000,
        'the drain to be under way',
      );
      await broker.stop();
      await sleep(2000);
      await broker.restart();
      const back = performance.now();
      await waitFor(() => backlog(w.store) === 0, 600_000, 'the backlog to drain', 20);
      runs.push({ recoveryMs: performance.now() - back, ...w.counters() });
      console.log(`(a) ${broker.name} run ${run + 1}: ${JSON.stringify(runs.at(-1))}`);
    }
    checkExactlyOnce(w.store, exchange);
  } finally {
    await w.engine.stop();
    await exchange.stop();
    w.store.close();
    await broker.dispose();
  }
  return runs;
}

async function exchangeAway(p: Parties, make: () => Promise<Broker>, tag: string): Promise<Run[]> {
  const broker = await make();
  const w = world(p, broker, `b-${tag}`);
  let exchange = await w.exchange();
  const runs: Run[] = [];
  try {
    await w.engine.start();
    await waitFor(() => w.engine.status().connected, 60_000, 'connected');
    for (let run = 0; run < RUNS; run++) {
      await exchange.stop();
      await broker.stop();
      await broker.restart();
      await waitFor(() => w.engine.status().connected, 60_000, 'the gateway back');
      w.reset();
      seedOutbox(w.store, 100, { tag: `away-${tag}-${run}` });
      w.engine.kick();
      await waitFor(() => w.engine.status().inFlight === 100, 60_000, 'all sent');
      await sleep(5000);
      exchange = await w.exchange();
      const back = performance.now();
      await waitFor(() => backlog(w.store) === 0, 600_000, 'the backlog to drain', 20);
      runs.push({ recoveryMs: performance.now() - back, ...w.counters() });
      console.log(`(b) ${broker.name} run ${run + 1}: ${JSON.stringify(runs.at(-1))}`);
    }
    checkExactlyOnce(w.store, exchange);
  } finally {
    await w.engine.stop();
    await exchange.stop();
    w.store.close();
    await broker.dispose();
  }
  return runs;
}

/** Rows per second from start to the last receipt, 1000 queued rows, fresh broker. */
async function drainRate(p: Parties, make: () => Promise<Broker>, tag: string): Promise<number> {
  const broker = await make();
  const w = world(p, broker, `c-${tag}`);
  const exchange = await w.exchange();
  try {
    seedOutbox(w.store, 1000, { tag: `rate-${tag}` });
    const started = performance.now();
    await w.engine.start();
    await waitFor(() => backlog(w.store) === 0, 600_000, 'the drain', 10);
    const rate = 1000 / ((performance.now() - started) / 1000);
    checkExactlyOnce(w.store, exchange);
    console.log(`(c) ${broker.name}: ${rate.toFixed(0)} rows/s`);
    return rate;
  } finally {
    await w.engine.stop();
    await exchange.stop();
    w.store.close();
    await broker.dispose();
  }
}

/**
 * Without sessions a message the broker dropped waits out the receipt timeout, then the
 * first backoff (at most 5 s); `rest` is the time the remaining rows take anyway.
 */
function figure(what: string, ours: Run[], base: Run[], restMs: number): BenchFigure {
  const value = median(ours.map((r) => r.recoveryMs));
  const baseline = median(base.map((r) => r.recoveryMs));
  const bound = Math.round(RECEIPT_TIMEOUT_MS + 5000 + restMs);
  const worst = Math.max(...ours.map((r) => r.recoveryMs));
  return {
    name: `${what}: back → last receipt, ejabberd (sessions in memory), median of ${ours.length}`,
    value,
    unit: 'ms',
    baseline: { name: 'mosquitto with persistence (sessions kept)', value: baseline, unit: 'ms' },
    ratio: value / baseline,
    ratioMeaning: 'recovery without sessions ÷ with sessions',
    goal: `every run <= receipt timeout + first backoff + the rest's drain (${bound} ms), 0 lost, 0 duplicated`,
    met: worst <= bound,
  };
}

const p = parties();
try {
  const c = {
    mosquitto: await drainRate(p, mosquitto, 'mosquitto'),
    ejabberd: await drainRate(p, ejabberd, 'ejabberd'),
  };
  const a = {
    mosquitto: await restartMidDrain(p, mosquitto, 'mosquitto'),
    ejabberd: await restartMidDrain(p, ejabberd, 'ejabberd'),
  };
  const b = {
    mosquitto: await exchangeAway(p, mosquitto, 'mosquitto'),
    ejabberd: await exchangeAway(p, ejabberd, 'ejabberd'),
  };
  writeBenchResults(
    'brokers',
    [
      figure('(a) broker restart mid-drain', a.ejabberd, a.mosquitto, (200 / c.ejabberd) * 1000),
      figure('(b) exchange away across a broker restart', b.ejabberd, b.mosquitto, (100 / c.ejabberd) * 1000),
      {
        name: '(c) drain of 1000 rows through ejabberd, each settled by a receipt',
        value: c.ejabberd,
        unit: 'rows/s',
        baseline: { name: 'the same through mosquitto', value: c.mosquitto, unit: 'rows/s' },
        ratio: c.ejabberd / c.mosquitto,
        ratioMeaning: 'ejabberd rate ÷ mosquitto rate (informational; no goal)',
      },
    ],
    { receiptTimeoutMs: RECEIPT_TIMEOUT_MS, restartMidDrain: a, exchangeAway: b, drainRate: c },
  );
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
