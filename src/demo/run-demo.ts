import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Daemon } from '../daemon/daemon.js';
import { CtopError } from '../errors.js';
import { loadPrivateKey, TrustStore } from '../keys/index.js';
import { createLogger, type Logger } from '../log.js';
import { startExchange } from '../reference-exchange/index.js';
import { SENSITIVITY_DBM } from '../sim/ble/air-time.js';
import { passageForAudibleRange } from '../sim/ble/train.js';
import { type SimulatedTrain, startSimulatedTrain } from '../sim/ble-train.js';
import { type SerialLockSetup, startSerialLock } from '../sim/lock/serial-lock-setup.js';
import type { TrainLockPlan } from '../sim/train-manifests.js';
import type { TrainSummary } from '../train/train-board.js';
import { EmbeddedBroker } from './broker.js';
import { Cleanups } from './cleanups.js';
import { demoConfig } from './demo-config.js';
import { prepareDemoConsole } from './demo-console.js';
import { DemoProgress, type DemoResult } from './demo-progress.js';
import { formatDuration } from './demo-view.js';
import { type DemoWorld, demoManifests, prepareDemoWorld } from './demo-world.js';
import { LinkCutter } from './link-cutter.js';

export interface DemoOptions {
  /** Everything the demo keeps: keys, databases, the agent's log. Default var/demo. */
  dataDir: string;
  /** Locks on the train (two per wagon). Default 110. */
  locks: number;
  /** Locks on serial pseudo-terminals at the inspection bay. Default 2. */
  serialLocks: number;
  /** How long the agent ↔ broker link is cut, in the middle of the train. 0: no outage. */
  outageSeconds: number;
  /** Simulated radio seconds per wall second. */
  timeScale: number;
  /** Train speed past the antenna, m/s. */
  speedMps: number;
  /** Health and metrics; a busy port falls back to a free one. null: none. */
  http: string | null;
  /** Stop after the first train's summary instead of running until Ctrl-C. */
  once: boolean;
  /** Serve the officers' console (a demo officer of the customs role). Default true. */
  console?: boolean;
  out: NodeJS.WriteStream;
  /** Ctrl-C. */
  signal: AbortSignal;
  /** Called once the agent runs (the radio is up: see lastSigintListener). */
  onStarted?: () => void;
}

/** Resolves when `ms` passed or the signal fired; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function portFree(listen: string): Promise<boolean> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) return false;
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(Number(m[2]), m[1]!.replace(/^\[|\]$/g, ''), () => server.close(() => resolve(true)));
  });
}

/**
 * `npm start`: the whole job on embedded defaults. An MQTT broker (aedes, MQTT 3.1.1) and
 * the reference exchange run in this process; the agent is the real daemon with a
 * configuration built here; its serial ports are pseudo-terminals where simulated locks
 * answer, and its Bluetooth adapter is the simulated radio a train of simulated locks rolls
 * past. Half-way through the train the agent's path to the broker is cut; the backlog
 * builds up, and drains with the exchange's receipts once the link is back.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  ensureSocat(o.out);
  const world = prepareDemoWorld(o.dataDir);
  const logFd = openSync(world.logFile, 'a', 0o600);
  const log = createLogger({ fd: logFd, level: process.env.CTOP_LOG_LEVEL ?? 'info', pretty: false });
  const write = (line: string) => o.out.write(`${line}\n`);
  write(
    `ctop-agent on embedded defaults — run ${world.run}, data in ${world.dir}${world.fresh ? ' (keys made now, owner-only)' : ''}`,
  );
  write(`  agent log: ${world.logFile} (JSON lines) · Ctrl-C stops it cleanly`);
  const cleanups = new Cleanups(log);
  cleanups.push(() => new Promise<void>((resolve) => log.flush(() => resolve())));
  cleanups.push(() => closeSync(logFd));

  const result: DemoResult = { stored: 0, delivered: 0, outageMs: 0, serial: [] };
  try {
    const { cutter } = await startExchangeSide(world, log, cleanups, write);
    const serial = await startSerialBay(world, o.serialLocks, log);
    cleanups.push(() => Promise.all(serial.map((s) => s.setup.close())));
    cleanups.push(() => clearTtyDir(world));
    const plans =
      o.locks > 0 ? demoManifests(world, o.locks, { train: String(7000 + (world.run % 1000)) }) : [];
    const train = await startTrain(o, world, plans, log, cleanups, write);

    const http = o.http && (await portFree(o.http)) ? o.http : o.http ? '127.0.0.1:0' : null;
    const officers = o.console === false ? undefined : await prepareDemoConsole(world);
    const daemon = new Daemon({
      loaded: demoConfig(world, {
        brokerUrl: cutter.url,
        http,
        ...(train ? { radioPort: train.radio.port } : {}),
        ...(officers ? { console: officers.config } : {}),
      }),
      log,
      env: {},
      references: {
        gatewayKey: loadPrivateKey(world.gatewayKeyFile),
        trust: TrustStore.load(world.agentTrustFile),
        provisioned: [],
        ...(officers ? { console: officers.references } : {}),
      },
    });
    cleanups.push(() => daemon.stop('demo ends'));
    const bays = serial.map((s) => ({ bay: s.bay, link: s.link, lockId: s.setup.lock.engine.lockId }));
    const progress = new DemoProgress(
      o.out,
      daemon,
      plans.map((p) => p.lockId),
      bays,
      result,
    );
    const outageDone = progress.scheduleOutage(cutter, o.outageSeconds, (ms) => pause(ms, o.signal));
    const trainEnd = trainEnded(daemon, plans.length, o.signal);

    await daemon.start();
    o.onStarted?.();
    progress.watchSync();
    progress.view.start();
    cleanups.push(() => progress.view.stop());
    const metricsUrl =
      daemon.httpPort === undefined ? undefined : `http://127.0.0.1:${daemon.httpPort}/metrics`;
    write(`  agent ready${metricsUrl ? `: health and metrics on ${metricsUrl}` : ''}`);
    if (officers) write(officers.announce(daemon.consolePort));

    const summary = await trainEnd;
    await Promise.race([outageDone, pause(0, o.signal)]);
    await drainBacklog(daemon, o.signal);
    if (summary) result.summary = summary;
    result.delivered = delivered(daemon, progress.trainManifests);
    progress.view.stop();
    if (summary) writeTrainReport(write, { summary, locks: plans.length, result, progress, cutter, daemon });
    for (const s of result.serial)
      write(`serial ${s.lockId}: ${s.outcome}, manifest ${s.verification ?? 'none'}`);
    write(
      `data: ${world.dbPath} — try: ctop-agent manifests list --db ${world.dbPath} · ctop-agent outages list --db ${world.dbPath}`,
    );
    write(`(${formatDuration(Date.now() - started)} in all)`);
    if (!o.once && !o.signal.aborted) {
      write(`the agent keeps running${metricsUrl ? ` (metrics on ${metricsUrl})` : ''}; Ctrl-C to stop`);
      await aborted(o.signal);
    }
    write('stopping: reads in progress are checkpointed, the sync stops, the database closes…');
  } finally {
    await cleanups.run();
  }
  write('stopped.');
  return result;
}

/** The embedded broker, the link cutter the agent reaches it through, and the reference exchange. */
async function startExchangeSide(
  world: DemoWorld,
  log: Logger,
  cleanups: Cleanups,
  write: (line: string) => void,
): Promise<{ cutter: LinkCutter }> {
  const broker = await EmbeddedBroker.start();
  cleanups.push(() => broker.close());
  const cutter = await LinkCutter.start(broker.port);
  cleanups.push(() => cutter.close());
  const exchange = await startExchange({
    brokerUrl: broker.url,
    dbPath: world.exchangeDbPath,
    key: world.exchangeKey,
    trust: world.exchangeTrust,
    address: 'CTOP://KZ/EXCHANGE',
    protocolVersion: 4,
    clientId: 'ctop-exchange-demo',
    keepaliveSeconds: 5,
    reconnectPeriodMs: 500,
    log,
  });
  cleanups.push(() => exchange.stop());
  write(`  embedded MQTT broker ${broker.url} (aedes: MQTT 3.1.1), reference exchange ${exchange.address}`);
  return { cutter };
}

/** The simulated train of `plans` past the simulated radio; none without locks. */
async function startTrain(
  o: DemoOptions,
  world: DemoWorld,
  plans: TrainLockPlan[],
  log: Logger,
  cleanups: Cleanups,
  write: (line: string) => void,
): Promise<SimulatedTrain | undefined> {
  if (plans.length === 0) return undefined;
  const train = await startSimulatedTrain({
    locks: plans.map((p) => ({ lockId: p.lockId, manifest: p.manifest, container: p.container })),
    timeScale: o.timeScale,
    seed: world.run,
    link: { lossRate: 0.02, disconnectRatePerSecond: 0.01 },
    // The first wagon reaches the antenna's range a few seconds after start; the gateway's
    // antenna has gain: locks are heard to 60 m.
    passage: {
      speedMps: o.speedMps,
      startMs: 6000 * o.timeScale,
      ...passageForAudibleRange(60, SENSITIVITY_DBM['1m']),
    },
    log,
  });
  cleanups.push(() => train.close());
  write(
    `  simulated train: ${Math.ceil(plans.length / 2)} wagons, ${plans.length} locks at ${(o.speedMps * 3.6).toFixed(0)} km/h past a simulated BLE radio (×${o.timeScale} time)`,
  );
  return train;
}

/** The train's summary, or undefined without a train or on Ctrl-C. */
function trainEnded(daemon: Daemon, locks: number, signal: AbortSignal): Promise<TrainSummary | undefined> {
  return new Promise<TrainSummary | undefined>((resolve) => {
    if (locks === 0) resolve(undefined);
    daemon.once('train-end', resolve);
    signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
}

/** The backlog drains with the exchange's receipts (two minutes at most). */
async function drainBacklog(daemon: Daemon, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!signal.aborted && Date.now() < deadline && (daemon.sync?.status().backlog ?? 0) > 0) {
    await pause(250, signal);
  }
}

/** Train manifests the exchange acknowledged. */
function delivered(daemon: Daemon, manifests: Set<string>): number {
  const store = daemon.store;
  if (!store) return 0;
  let n = 0;
  for (const id of manifests) if (store.outbox.forManifest(id)?.state === 'acknowledged') n++;
  return n;
}

function writeTrainReport(
  write: (line: string) => void,
  r: {
    summary: TrainSummary;
    locks: number;
    result: DemoResult;
    progress: DemoProgress;
    cutter: LinkCutter;
    daemon: Daemon;
  },
): void {
  const { summary, locks, result, cutter } = r;
  write('');
  write(
    `train ${summary.trainId} (${Math.ceil(locks / 2)} wagons, ${locks} locks) passed in ${formatDuration(summary.durationMs)}: ` +
      `read ${summary.read} · verified ${summary.verified} · stored ${r.progress.trainManifests.size} · delivered ${result.delivered} (receipts) · ` +
      `failed ${summary.failed.length} · missing ${summary.missing}`,
  );
  for (const f of summary.failed.slice(0, 5)) write(`  failed ${f.lockId}: ${f.code} ${f.message}`);
  write(
    `  outage: ${result.outageMs > 0 ? formatDuration(result.outageMs) : cutter.cutMs > 0 ? `${formatDuration(cutter.cutMs)} link cut (shorter than the grace time)` : 'none'}` +
      `; backlog peaked at ${r.progress.peakBacklog}, ${r.daemon.sync?.status().backlog ?? 0} left unacknowledged`,
  );
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function clearTtyDir(world: DemoWorld): void {
  for (const name of readdirSync(world.ttyDir)) rmSync(path.join(world.ttyDir, name), { force: true });
}

/**
 * The pseudo-terminals (serial locks, the simulated radio's HCI line) are made by socat.
 * A bare Debian has none: as root it is installed (as the tests' setup does), otherwise
 * the command to run is named.
 */
function ensureSocat(out: NodeJS.WriteStream): void {
  if (existsSync('/usr/bin/socat')) return;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    out.write(
      'installing socat (apt-get install socat): it makes the pseudo-terminals the simulated locks answer on\n',
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const run = (args: string[]) =>
      spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status;
    if (
      run(['update', '-qq']) === 0 &&
      run(['install', '-y', '-qq', '--no-install-recommends', 'socat']) === 0
    )
      return;
  }
  throw new CtopError(
    'E_USAGE',
    'npm start needs socat for the serial pseudo-terminals and the simulated radio: sudo apt-get install -y socat',
  );
}

interface SerialBayLock {
  bay: string;
  link: string;
  setup: SerialLockSetup;
}

/** Locks on pseudo-terminals at the inspection bay, reached through `<data>/tty/bay<n>`; the second one drops its link mid-read. */
async function startSerialBay(world: DemoWorld, count: number, log: Logger): Promise<SerialBayLock[]> {
  clearTtyDir(world);
  const plans = count > 0 ? demoManifests(world, count, { from: 900, train: '7000', goodsLines: 120 }) : [];
  const bays: SerialBayLock[] = [];
  for (const [i, plan] of plans.entries()) {
    const setup = await startSerialLock({
      lockId: plan.lockId,
      manifest: plan.manifest,
      baudRate: 38_400,
      ...(i === 1
        ? { faults: { disconnect: { afterManifestBytes: Math.floor(plan.manifest.byteLength / 2) } } }
        : {}),
      log,
    });
    const link = path.join(world.ttyDir, `bay${i + 1}`);
    if (existsSync(link)) rmSync(link, { force: true });
    symlinkSync(setup.pty.gatewayPath, link);
    bays.push({ bay: `bay${i + 1}`, link, setup });
  }
  return bays;
}

export type { DemoResult } from './demo-progress.js';
