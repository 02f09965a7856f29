/**
 * The drain of a backlog to the reference exchange, measured in CPU time (the figures a
 * shared 2-core gateway feels), against a bare mqtt.js QoS 1 publisher of the same payloads
 * to the same broker in the same run. Used by scripts/bench/drain-under-train.ts.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { systemClock } from '../../../src/clock.js';
import { openStore } from '../../../src/store/index.js';
import { type SyncConfig, SyncEngine } from '../../../src/sync/index.js';
import { Mosquitto } from '../../../test/helpers/mosquitto.js';
import { waitFor } from '../../../test/helpers/sync-world.js';
import { type Backlog, median, type Parties, startExchangeChild, stopChild, syncConfig } from './fixtures.js';

/** Drains measured in this process: each gets a fresh exchange database. */
let drains = 0;

/** The share of the backlog drained before the CPU figures start (JIT, caches, SQLite pages). */
export const WARMUP_SHARE = 0.2;

/** CPU time of this process, ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU time of another process, ms (Linux: utime + stime of /proc/<pid>/stat, in clock ticks of 10 ms). */
export function childCpuMs(pid: number): number {
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

export interface DrainFigures {
  messages: number;
  averageManifestBytes: number;
  drainMs: number;
  /** Wall ms of each counted bare loop: three before the drain (after two warm-up loops), two after. */
  bareMs: number[];
  /** CPU ms per publish of each bare loop, in the same order. */
  bareCpuMsPerMessage: number[];
  /** CPU ms per message: the agent (sync engine), the exchange process, the bare publisher. */
  cpuMsPerMessage: { agent: number; exchange: number; barePublisher: number };
  /** Of the agent's CPU, the share spent in the kernel (fsync of its commits, socket writes). */
  agentSystemShare: number;
}

/**
 * The backlog (a copy of the prepared store) drained by a SyncEngine in this process to
 * the reference exchange in its own process, each message settled by its signed receipt;
 * three bare publish loops of the same payloads first (after two that warm the publisher up)
 * and two after.
 */
export async function measureDrain(
  p: Parties,
  backlog: Backlog,
  around: { start?: () => Promise<void>; stop?: () => Promise<void> } = {},
  /** Sync settings other than the defaults (scripts/bench/sync/drain-ab.ts compares them). */
  sync: Partial<SyncConfig> = {},
): Promise<DrainFigures> {
  const broker = await Mosquitto.start();
  // A database of its own for each drain: one made by an earlier drain would answer duplicates.
  const exchangeDb = path.join(p.dir, `exchange-drain-${++drains}.db`);
  const exchange = await startExchangeChild(p, broker.url, exchangeDb);
  const dbPath = path.join(p.dir, 'agent-drain.db');
  copyFileSync(backlog.dbPath, dbPath);
  const store = openStore({ path: dbPath, clock: systemClock });
  const messages = backlog.manifests.length;
  const warmup = Math.floor(messages * WARMUP_SHARE);
  try {
    const bare: { ms: number; cpu: number }[] = [];
    // The publisher's figure is its steady state, as the agent's is: two loops warm it up and
    // are not counted (they ran at two to three times the CPU of the later ones, and a median
    // over them was the slowest warm loop).
    for (let i = 0; i < 2; i++) await bareLoop(broker.url, backlog.manifests);
    for (let i = 0; i < 3; i++) bare.push(await bareLoop(broker.url, backlog.manifests));
    const engine = new SyncEngine({
      store,
      gatewayKey: p.gatewayKey,
      trust: p.agentTrust,
      config: syncConfig([broker.url], sync),
    });
    let accepted = 0;
    engine.on('receipt', (r) => {
      if (r.status === 'accepted' && r.changed) accepted++;
    });
    const started = performance.now();
    await engine.start();
    // The CPU figures are of the steady state a long-running daemon and exchange are in: from
    // the warm-up's last receipt on (the bare publisher's is the median of five warm loops).
    await waitFor(() => accepted >= warmup, 600_000, 'the warm-up', 1);
    await around.start?.();
    const agentCpu = cpuMs();
    const agentUsage = process.cpuUsage();
    const exchangeCpu = childCpuMs(exchange.child.pid!);
    await waitFor(() => accepted >= messages, 600_000, 'the drain', 5);
    const drainMs = performance.now() - started;
    const measured = messages - warmup;
    const agent = (cpuMs() - agentCpu) / measured;
    const usage = process.cpuUsage(agentUsage);
    const exchangeUsed = (childCpuMs(exchange.child.pid!) - exchangeCpu) / measured;
    await around.stop?.();
    await engine.stop();
    await stopChild(exchange.child);
    // Two more after the drain: this machine's pace drifts within a run, and a baseline taken
    // on both sides of the drain moves with it (the median of the five is the figure).
    for (let i = 0; i < 2; i++) bare.push(await bareLoop(broker.url, backlog.manifests));
    const counters = JSON.parse(exchange.out().trim().split('\n').at(-1)!) as {
      accepted: number;
      rejected: number;
    };
    if (counters.accepted !== messages || counters.rejected !== 0)
      throw new Error(`exchange counters ${JSON.stringify(counters)}`);
    return {
      messages,
      averageManifestBytes: backlog.averageBytes,
      drainMs,
      bareMs: bare.map((b) => b.ms),
      bareCpuMsPerMessage: bare.map((b) => b.cpu / messages),
      agentSystemShare: usage.system / (usage.user + usage.system),
      cpuMsPerMessage: {
        agent,
        exchange: exchangeUsed,
        barePublisher: median(bare.map((b) => b.cpu)) / messages,
      },
    };
  } finally {
    store.close();
    await stopChild(exchange.child, 'SIGKILL');
    await broker.dispose();
  }
}
