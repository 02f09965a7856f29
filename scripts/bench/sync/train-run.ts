/**
 * One run of the drain-under-train bench: the daemon (in this process, with its default
 * settings) reads a standing train of simulated locks (scripts/bench/sync/train-child.ts,
 * a process of its own as the radio is) while its sync drains whatever the store holds to
 * the reference exchange (its own process) through mosquitto. Every run gets a fresh
 * broker, exchange database and train, so no run inherits another's sessions or
 * duplicates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configFromObject } from '../../../src/config/index.js';
import { Daemon } from '../../../src/daemon/daemon.js';
import type { TrainSummary } from '../../../src/train/train-board.js';
import { Mosquitto } from '../../../test/helpers/mosquitto.js';
import { waitFor } from '../../../test/helpers/sync-world.js';
import { cpuMs } from './drain.js';
import { type Backlog, IDENTITY, type Parties, startExchangeChild, stopChild } from './fixtures.js';

const TRAIN_CHILD = fileURLToPath(new URL('./train-child.ts', import.meta.url));

export interface TrainRun {
  backlog: number;
  /** From the first lock heard to the last lock read, wall ms. */
  readMs: number;
  read: number;
  missed: number;
  /** Outbox rows settled by a receipt from the daemon's start to the last lock read. */
  settledByLastRead: number;
  /** From the daemon's start to an empty backlog, wall ms. */
  drainMs: number;
  /** The daemon's CPU over the whole run (this process), ms. */
  cpuMs: number;
  /** Event-loop delay of the daemon's process while the train was read, ms. */
  loopDelayMs: { p50: number; p99: number; max: number };
  manifestBytes: number;
}

async function startTrain(
  locks: number,
): Promise<{ child: ChildProcess; port: string; manifestBytes: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', TRAIN_CHILD, String(locks)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  await waitFor(() => out.includes('\n') || child.exitCode !== null, 120_000, 'the simulated train');
  if (child.exitCode !== null) throw new Error(`the simulated train exited: ${err}`);
  const { port, manifestBytes } = JSON.parse(out.split('\n')[0]!) as { port: string; manifestBytes: number };
  return { child, port, manifestBytes };
}

function daemonConfig(p: Parties, dbPath: string, brokerUrl: string, bleUart: string) {
  return configFromObject({
    gateway: {
      id: IDENTITY.gatewayId,
      country: IDENTITY.country,
      checkpoint: IDENTITY.checkpoint,
      key: p.files.gatewayKey,
    },
    trust: { store: p.files.agentTrust },
    locks: { trustOnFirstUse: true },
    store: { path: dbPath },
    serial: { ports: [] },
    ble: { enabled: true, uart: { port: bleUart } },
    sync: { brokers: [brokerUrl], exchangeAddress: 'CTOP://KZ/EXCHANGE' },
    http: { listen: null },
    log: { level: 'info', format: 'json' },
  });
}

/** Reads a train of `locks` with the daemon, its store holding `backlog` (or nothing) to drain. */
export async function trainRun(
  p: Parties,
  run: string,
  locks: number,
  backlog: Backlog | undefined,
): Promise<TrainRun> {
  const dbPath = path.join(p.dir, `agent-${run}.db`);
  if (backlog) copyFileSync(backlog.dbPath, dbPath);
  const logFile = pino.destination({ dest: path.join(p.dir, `daemon-${run}.log`), sync: false });
  const broker = await Mosquitto.start();
  const exchange = await startExchangeChild(p, broker.url, path.join(p.dir, `exchange-${run}.db`));
  const train = await startTrain(locks);
  const daemon = new Daemon({
    loaded: daemonConfig(p, dbPath, broker.url, train.port),
    log: pino({ level: 'info', base: { pid: process.pid } }, logFile),
  });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  // Only the first train counts: a standing train goes quiet once read, the reader ends it,
  // and the locks still in range start a second one.
  let trainId: string | undefined;
  let firstHeard = 0;
  let lastRead = 0;
  const read = new Set<string>();
  let settledAtLastRead = 0;
  let summary: TrainSummary | undefined;
  daemon.on('train-start', (e) => {
    if (trainId !== undefined) return;
    trainId = e.trainId;
    firstHeard = performance.now();
    loop.enable();
  });
  daemon.on('train-lock', (l) => {
    if (l.trainId !== trainId || l.state !== 'read' || read.has(l.lockId)) return;
    read.add(l.lockId);
    lastRead = performance.now();
    if (read.size < locks) return;
    loop.disable();
    settledAtLastRead = daemon.store?.outbox.status(Date.now()).counts.acknowledged ?? 0;
  });
  daemon.on('train-end', (s) => {
    if (s.trainId === trainId) summary = s;
  });
  const cpu = cpuMs();
  const started = performance.now();
  try {
    await daemon.start();
    // Every lock read, or the reader gave up on the rest and the train ended.
    await waitFor(() => read.size >= locks || summary !== undefined, 600_000, 'the train to be read', 50);
    await waitFor(() => daemon.sync!.status().backlog === 0, 600_000, 'the backlog to drain', 50);
    const drainMs = performance.now() - started;
    loop.disable();
    return {
      backlog: backlog?.manifests.length ?? 0,
      readMs: lastRead - firstHeard,
      read: read.size,
      missed: locks - read.size,
      settledByLastRead: settledAtLastRead,
      drainMs,
      cpuMs: cpuMs() - cpu,
      loopDelayMs: {
        p50: loop.percentile(50) / 1e6,
        p99: loop.percentile(99) / 1e6,
        max: loop.max / 1e6,
      },
      manifestBytes: train.manifestBytes,
    };
  } finally {
    await daemon.stop('bench run over');
    logFile.end();
    await stopChild(train.child);
    await stopChild(exchange.child, 'SIGKILL');
    await broker.dispose();
  }
}
