/**
 * Sync benchmark (issue 7 item 7), against the real mosquitto, figures as ratios against
 * baselines measured in the same run:
 *
 * (a) drain: 10,000 queued ~8 KiB signed manifests, each sent in a signed envelope and
 *     settled by the exchange's signed receipt (the reference exchange in its own process,
 *     verifying every gateway and customs signature) ÷ a bare mqtt.js QoS 1 publish loop of
 *     the same payloads to the same broker (goal ≥ 0.5);
 * (b) recovery: time from the broker coming back to the first receipt (goal ≤ 2 s), against
 *     a bare mqtt.js client with its default 1 s reconnect getting its first PUBACK;
 * (c) store-and-forward: the same messages queued while upstream is down by the agent
 *     (SQLite outbox) and by a mosquitto bridge with persistence (default autosave), both
 *     SIGKILLed, restarted, and what reached upstream counted (goal: ours lose 0).
 *
 * BENCH_SYNC_MESSAGES (default 10000), BENCH_SYNC_RECOVERY_RUNS (5), BENCH_SYNC_QUEUED (1000).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { systemClock } from '../../src/clock.js';
import { startExchange } from '../../src/reference-exchange/index.js';
import { openStore } from '../../src/store/index.js';
import { SyncEngine } from '../../src/sync/index.js';
import { freePort, Mosquitto } from '../../test/helpers/mosquitto.js';
import { seedOutbox, waitFor } from '../../test/helpers/sync-world.js';
import { type BenchFigure, writeBenchResults } from './lib.js';
import {
  AGENT_CHILD,
  EXCHANGE_SCRIPT,
  ingest,
  makeManifests,
  median,
  type Parties,
  parties,
  sleep,
  spawnReady,
  stopChild,
  syncConfig,
} from './sync/fixtures.js';

const MESSAGES = Number(process.env.BENCH_SYNC_MESSAGES ?? 10_000);
const RECOVERY_RUNS = Number(process.env.BENCH_SYNC_RECOVERY_RUNS ?? 5);
const QUEUED = Number(process.env.BENCH_SYNC_QUEUED ?? 1000);

/** QoS 1 publishes of every payload, pipelined, until the last PUBACK: ms. */
/** CPU time of this process, ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU time of another process, ms (Linux: utime + stime of /proc/<pid>/stat, in clock ticks of 10 ms). */
function childCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** QoS 1 publishes of every payload, pipelined, until the last PUBACK: wall and CPU ms. */
async function bareLoop(url: string, payloads: Buffer[]): Promise<{ ms: number; cpu: number }> {
  const client = await connectAsync(url, {
    protocolVersion: 5,
    clientId: `bench-bare-${process.pid}`,
    clean: true,
  });
  const started = performance.now();
  const cpu = cpuMs();
  await Promise.all(payloads.map((p, i) => client.publishAsync(`bench/bare/${i % 16}`, p, { qos: 1 })));
  const ms = performance.now() - started;
  const used = cpuMs() - cpu;
  await client.endAsync();
  return { ms, cpu: used };
}

async function benchDrain(
  p: Parties,
): Promise<{ figure: BenchFigure; cpu: BenchFigure; extra: Record<string, unknown> }> {
  console.log(`(a) making ${MESSAGES} signed manifests…`);
  const manifests = makeManifests(MESSAGES);
  const size = Math.round(manifests.reduce((s, m) => s + m.byteLength, 0) / manifests.length);
  const broker = await Mosquitto.start();
  const exchange = await spawnReady(
    [
      EXCHANGE_SCRIPT,
      '--broker',
      broker.url,
      '--db',
      path.join(p.dir, 'exchange-a.db'),
      '--key',
      p.files.exchangeKey,
      '--trust',
      p.files.exchangeTrust,
      '--report',
      '0',
    ],
    'ready',
  );
  const store = openStore({
    path: path.join(p.dir, 'agent-a.db'),
    clock: systemClock,
    trustOnFirstUse: true,
  });
  try {
    console.log(`(a) storing them (${size} bytes each on average)…`);
    ingest(store, manifests, p.agentTrust);
    const bare: { ms: number; cpu: number }[] = [];
    for (let i = 0; i < 3; i++) bare.push(await bareLoop(broker.url, manifests));
    const bareMs = median(bare.map((b) => b.ms));
    const bareCpuPerMessage = median(bare.map((b) => b.cpu)) / MESSAGES;
    console.log(`(a) bare QoS 1 loop: ${bare.map((x) => Math.round(x.ms)).join(', ')} ms`);
    const engine = new SyncEngine({
      store,
      gatewayKey: p.gatewayKey,
      trust: p.agentTrust,
      config: syncConfig([broker.url]),
    });
    let accepted = 0;
    engine.on('receipt', (r) => {
      if (r.status === 'accepted' && r.changed) accepted++;
    });
    const started = performance.now();
    const agentCpu = cpuMs();
    const exchangeCpu = childCpuMs(exchange.child.pid!);
    await engine.start();
    await waitFor(() => accepted >= MESSAGES, 600_000, 'the drain', 5);
    const drainMs = performance.now() - started;
    const agentCpuPerMessage = (cpuMs() - agentCpu) / MESSAGES;
    const exchangeCpuPerMessage = (childCpuMs(exchange.child.pid!) - exchangeCpu) / MESSAGES;
    await engine.stop();
    await stopChild(exchange.child);
    const counters = JSON.parse(exchange.out().trim().split('\n').at(-1)!) as {
      accepted: number;
      rejected: number;
    };
    if (counters.accepted !== MESSAGES || counters.rejected !== 0)
      throw new Error(`exchange counters ${JSON.stringify(counters)}`);
    console.log(
      `(a) drain with receipts: ${Math.round(drainMs)} ms; CPU per message: agent ${agentCpuPerMessage.toFixed(3)} ms, ` +
        `exchange ${exchangeCpuPerMessage.toFixed(3)} ms, bare publisher ${bareCpuPerMessage.toFixed(3)} ms`,
    );
    const ours = MESSAGES / (drainMs / 1000);
    const base = MESSAGES / (bareMs / 1000);
    return {
      cpu: {
        name: 'agent CPU per message sent and settled (envelope signed, receipt verified, store transactions)',
        value: agentCpuPerMessage,
        unit: 'ms',
        baseline: {
          name: 'bare mqtt.js publisher CPU per QoS 1 publish',
          value: bareCpuPerMessage,
          unit: 'ms',
        },
        ratio: bareCpuPerMessage / agentCpuPerMessage,
        ratioMeaning: 'bare publisher CPU ÷ agent CPU per message (informational; no goal)',
      },
      figure: {
        name: `drain of ${MESSAGES} queued ${size}-byte manifests, each settled by a signed receipt`,
        value: ours,
        unit: 'msg/s',
        baseline: {
          name: 'bare mqtt.js QoS 1 publish loop, same payloads, same broker',
          value: base,
          unit: 'msg/s',
        },
        ratio: ours / base,
        ratioMeaning: 'drain rate ÷ bare publish rate',
        goal: '>= 0.5',
        met: ours / base >= 0.5,
      },
      extra: {
        drainMs: Math.round(drainMs),
        bareMs: bare.map((b) => Math.round(b.ms)),
        averageManifestBytes: size,
        cpuMsPerMessage: {
          agent: Number(agentCpuPerMessage.toFixed(3)),
          exchange: Number(exchangeCpuPerMessage.toFixed(3)),
          barePublisher: Number(bareCpuPerMessage.toFixed(3)),
        },
      },
    };
  } finally {
    store.close();
    await stopChild(exchange.child, 'SIGKILL');
    await broker.dispose();
  }
}

async function benchRecovery(p: Parties): Promise<{ figure: BenchFigure; extra: Record<string, unknown> }> {
  const broker = await Mosquitto.start({ persistence: true });
  const exchange = await startExchange({
    brokerUrl: broker.url,
    dbPath: path.join(p.dir, 'exchange-b.db'),
    key: p.exchangeKey,
    trust: p.exchangeTrust,
  });
  const store = openStore({ path: path.join(p.dir, 'agent-b.db'), clock: systemClock });
  const engine = new SyncEngine({
    store,
    gatewayKey: p.gatewayKey,
    trust: p.agentTrust,
    config: syncConfig([broker.url]),
  });
  const bare = await connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: 'bench-bare-reconnect',
    clean: false,
    reconnectPeriod: 1000,
  });
  const ours: number[] = [];
  const theirs: number[] = [];
  let firstReceipt: number | undefined;
  engine.on('receipt', () => {
    firstReceipt ??= performance.now();
  });
  try {
    await engine.start();
    await waitFor(() => engine.status().connected, 10_000, 'connected');
    for (let run = 0; run < RECOVERY_RUNS; run++) {
      await broker.stop();
      seedOutbox(store, 20, { tag: `recovery-${run}` });
      engine.kick();
      firstReceipt = undefined;
      let barePuback: number | undefined;
      const bareBack = new Promise<void>((resolve) =>
        bare.once('connect', () => {
          bare.publish('bench/bare/reconnect', Buffer.from('x'), { qos: 1 }, () => {
            barePuback = performance.now();
            resolve();
          });
        }),
      );
      await sleep(1500 + run * 300);
      await broker.restart();
      const back = performance.now();
      await waitFor(() => firstReceipt !== undefined, 30_000, 'the first receipt', 5);
      await bareBack;
      ours.push(firstReceipt! - back);
      theirs.push(barePuback! - back);
      await waitFor(() => engine.status().backlog === 0, 30_000, 'the backlog', 20);
    }
    console.log(
      `(b) broker back → first receipt: ${ours.map(Math.round).join(', ')} ms; bare client → first PUBACK: ${theirs.map(Math.round).join(', ')} ms`,
    );
    const value = median(ours);
    const base = median(theirs);
    return {
      figure: {
        name: `broker back → first receipt (median of ${RECOVERY_RUNS} restarts)`,
        value,
        unit: 'ms',
        baseline: { name: 'bare mqtt.js client (1 s reconnect) → first PUBACK', value: base, unit: 'ms' },
        ratio: value / base,
        ratioMeaning: 'time to first receipt ÷ time to first bare PUBACK',
        goal: '<= 2000 ms (max of the runs)',
        met: Math.max(...ours) <= 2000,
      },
      extra: { recoveryMs: ours.map(Math.round), bareReconnectMs: theirs.map(Math.round) },
    };
  } finally {
    bare.end(true);
    await engine.stop();
    await exchange.stop();
    store.close();
    await broker.dispose();
  }
}

async function benchStoreAndForward(
  p: Parties,
): Promise<{ figure: BenchFigure; extra: Record<string, unknown> }> {
  const upstreamPort = await freePort();
  const upstreamUrl = `mqtt://127.0.0.1:${upstreamPort}`;
  // The bridge's gateway broker: persistence on, mosquitto's default autosave.
  const local = await Mosquitto.start({
    persistence: true,
    autosaveInterval: 1800,
    extra: [
      'connection upstream',
      `address 127.0.0.1:${upstreamPort}`,
      'topic ctop/v1/# out 1',
      'cleansession false',
      'clientid bridge-gw-bridge-1',
      'restart_timeout 1 2',
    ],
  });
  const bridgeTopic = 'ctop/v1/KZ/DOSTYK/gw-bridge-1/pairing';
  // Ours: the agent, its outbox filled while upstream is down.
  const db = path.join(p.dir, 'agent-c.db');
  const seedStore = openStore({ path: db, clock: systemClock });
  seedOutbox(seedStore, QUEUED, { tag: 'store-and-forward' });
  seedStore.close();
  const config = path.join(p.dir, 'agent-c.json');
  writeFileSync(
    config,
    JSON.stringify({
      db,
      gatewayKey: p.files.gatewayKey,
      trust: p.files.agentTrust,
      sync: syncConfig([upstreamUrl]),
    }),
  );
  const agent = await spawnReady([AGENT_CHILD, config], 'ready', true);
  // The bridge: the same number of messages, each acknowledged (PUBACK) by the local broker.
  const publisher = await connectAsync(local.url, { protocolVersion: 5, clientId: 'bench-bridge-app' });
  await Promise.all(
    Array.from({ length: QUEUED }, (_, i) =>
      publisher.publishAsync(bridgeTopic, Buffer.from(`bridge-${i}`), { qos: 1 }),
    ),
  );
  await publisher.endAsync();
  await sleep(1000);
  // Power cut.
  await stopChild(agent.child, 'SIGKILL');
  await local.kill('SIGKILL');

  const upstream = await Mosquitto.start({ port: upstreamPort });
  const exchange = await startExchange({
    brokerUrl: upstreamUrl,
    dbPath: path.join(p.dir, 'exchange-c.db'),
    key: p.exchangeKey,
    trust: p.exchangeTrust,
  });
  const counter = await connectAsync(upstreamUrl, { protocolVersion: 5, clientId: 'bench-counter' });
  const bridged = new Set<string>();
  counter.on('message', (_topic, payload) => bridged.add(payload.toString()));
  await counter.subscribeAsync(bridgeTopic, { qos: 1 });
  await local.restart();
  const again = await spawnReady([AGENT_CHILD, config], 'ready', true);
  const store = openStore({ path: db, clock: systemClock });
  try {
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged >= QUEUED,
      120_000,
      'the agent to drain',
    );
    let seen = -1;
    while (seen !== bridged.size) {
      seen = bridged.size;
      await sleep(3000);
    }
    const ours = exchange.db.all().filter((m) => m.kind === 'pairing').length;
    const lostOurs = QUEUED - ours;
    const lostBridge = QUEUED - bridged.size;
    console.log(
      `(c) after SIGKILL of both: agent delivered ${ours}/${QUEUED}, bridge delivered ${bridged.size}/${QUEUED}`,
    );
    return {
      figure: {
        name: `messages lost of ${QUEUED} queued while upstream was down, after SIGKILL and restart`,
        value: lostOurs,
        unit: 'lost',
        baseline: {
          name: 'mosquitto bridge with persistence (default autosave)',
          value: lostBridge,
          unit: 'lost',
        },
        ratio: lostBridge === 0 ? (lostOurs === 0 ? 0 : Number.POSITIVE_INFINITY) : lostOurs / lostBridge,
        ratioMeaning: 'lost by ctop-agent ÷ lost by the bridge (0: ours lost nothing)',
        goal: 'ours lose 0',
        met: lostOurs === 0,
      },
      extra: { queued: QUEUED, deliveredOurs: ours, deliveredBridge: bridged.size },
    };
  } finally {
    store.close();
    counter.end(true);
    await stopChild(again.child);
    await exchange.stop();
    await upstream.dispose();
    await local.dispose();
  }
}

const p = parties();
try {
  const a = await benchDrain(p);
  const b = await benchRecovery(p);
  const c = await benchStoreAndForward(p);
  writeBenchResults('sync', [a.figure, a.cpu, b.figure, c.figure], {
    drain: a.extra,
    recovery: b.extra,
    storeAndForward: c.extra,
  });
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
