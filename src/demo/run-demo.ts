import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { configFromObject } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { CtopError } from '../errors.js';
import { loadPrivateKey, TrustStore } from '../keys/index.js';
import { createLogger, type Logger } from '../log.js';
import { startExchange } from '../reference-exchange/index.js';
import { type SimulatedTrain, startSimulatedTrain } from '../sim/ble-train.js';
import { type SerialLockSetup, startSerialLock } from '../sim/lock/serial-lock-setup.js';
import type { TrainSummary } from '../train/train-board.js';
import { EmbeddedBroker } from './broker.js';
import { prepareDemoConsole } from './demo-console.js';
import {
  type DemoSerialStatus,
  type DemoStatus,
  DemoView,
  formatDuration,
  kib,
  type WagonLockState,
} from './demo-view.js';
import { DEMO_GATEWAY, type DemoWorld, demoManifests, prepareDemoWorld } from './demo-world.js';
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

export interface DemoResult {
  summary?: TrainSummary;
  stored: number;
  delivered: number;
  outageMs: number;
  serial: { lockId: string; outcome: string; verification?: string }[];
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

  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  // Each step bounded: a simulated device whose pty died with the terminal's Ctrl-C (socat
  // is in our process group) must not keep the demo from ending.
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step),
          new Promise((resolve) => {
            timer = setTimeout(() => {
              log.warn({ step: String(step).slice(0, 80) }, 'demo cleanup step did not finish in 10 s');
              resolve(undefined);
            }, 10_000);
          }),
        ]);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'demo cleanup step failed');
      } finally {
        clearTimeout(timer);
      }
    }
  };
  cleanups.push(() => new Promise<void>((resolve) => log.flush(() => resolve())));
  cleanups.push(() => closeSync(logFd));

  const result: DemoResult = { stored: 0, delivered: 0, outageMs: 0, serial: [] };
  try {
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

    const serial = await startSerialBay(world, o.serialLocks, log);
    cleanups.push(() => Promise.all(serial.map((s) => s.setup.close())));
    cleanups.push(() => {
      for (const name of readdirSync(world.ttyDir)) rmSync(path.join(world.ttyDir, name), { force: true });
    });

    const plans =
      o.locks > 0 ? demoManifests(world, o.locks, { train: String(7000 + (world.run % 1000)) }) : [];
    let train: SimulatedTrain | undefined;
    if (plans.length > 0) {
      train = await startSimulatedTrain({
        locks: plans.map((p) => ({ lockId: p.lockId, manifest: p.manifest, container: p.container })),
        timeScale: o.timeScale,
        seed: world.run,
        link: { lossRate: 0.02, disconnectRatePerSecond: 0.01 },
        // The first wagon reaches the antenna's range a few seconds after start.
        passage: { speedMps: o.speedMps, startMs: 6000 * o.timeScale },
        log,
      });
      cleanups.push(() => train?.close());
      write(
        `  simulated train: ${Math.ceil(plans.length / 2)} wagons, ${plans.length} locks at ${(o.speedMps * 3.6).toFixed(0)} km/h past a simulated BLE radio (×${o.timeScale} time)`,
      );
    }

    const http = o.http && (await portFree(o.http)) ? o.http : o.http ? '127.0.0.1:0' : null;
    const officers = o.console === false ? undefined : await prepareDemoConsole(world);
    const loaded = configFromObject(
      {
        role: 'checkpoint',
        gateway: {
          id: DEMO_GATEWAY.gatewayId,
          country: DEMO_GATEWAY.country,
          checkpoint: DEMO_GATEWAY.checkpoint,
          key: world.gatewayKeyFile,
        },
        trust: { store: world.agentTrustFile },
        locks: { trustOnFirstUse: true },
        store: { path: world.dbPath, minFreeMiB: 16 },
        retention: { firstRunMinutes: 1 },
        serial: {
          ports: [path.join(world.ttyDir, 'bay*')],
          baudRate: 115_200,
          scanIntervalMs: 500,
          probeIntervalMs: 2000,
        },
        ble: train
          ? {
              enabled: true,
              uart: { port: train.radio.port, baudRate: 1_000_000 },
              maxConcurrent: 5,
              connectTimeoutMs: 8000,
              gattTimeoutMs: 4000,
            }
          : { enabled: false },
        sync: {
          brokers: [cutter.url],
          exchangeAddress: 'CTOP://KZ/EXCHANGE',
          protocolVersion: 4,
          keepaliveSeconds: 5,
          connectTimeoutMs: 3000,
          reconnectDelayMs: 500,
          receiptTimeoutMs: 5000,
          outageGraceMs: 1000,
          pollIntervalMs: 500,
        },
        http: { listen: http },
        ...(officers ? { console: officers.config } : {}),
        shutdown: { readGraceMs: 2000 },
      },
      '(npm start)',
    );
    const daemon = new Daemon({
      loaded,
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

    // What the view shows, kept up to date from the daemon's events.
    const lockIndex = new Map(plans.map((p, i) => [p.lockId, i]));
    const trainLocks: WagonLockState[] = plans.map(() => 'unseen');
    let trainStatus: DemoStatus['train'];
    const bays = new Map<string, DemoSerialStatus>(
      serial.map((s) => [s.link, { bay: s.bay, lockId: s.setup.lock.engine.lockId, text: 'waiting' }]),
    );
    const exchangeStatus = {
      connected: false,
      backlog: 0,
      receipts: 0,
      rejected: 0,
    } as DemoStatus['exchange'];
    const view = new DemoView(o.out, () => {
      const sync = daemon.sync?.status();
      if (sync) {
        exchangeStatus.connected = sync.connected;
        exchangeStatus.backlog = sync.backlog;
      }
      return {
        ...(trainStatus ? { train: trainStatus } : {}),
        serial: [...bays.values()],
        exchange: exchangeStatus,
        now: Date.now(),
      };
    });
    const trainManifests = new Set<string>();
    let peakBacklog = 0;

    daemon.on('serial-progress', (p) => {
      const bay = bays.get(p.port);
      if (!bay) return;
      bay.lockId = p.lockId;
      const note = p.phase === 'retrying' ? ` — link lost (${p.error}), resuming` : '';
      bay.text = `${p.lockId} ${p.phase === 'manifest' || p.phase === 'retrying' ? `reading ${kib(p.bytes)} of ${kib(p.total)}` : p.phase}${note}`;
    });
    daemon.on('read', (r) => {
      if (r.stored) result.stored++;
      if (r.transport === 'serial') {
        const bay = [...bays.values()].find((b) => b.lockId === r.lockId);
        if (bay) {
          const resumed =
            r.resumedAt.length > 0 ? ` (link lost, resumed at ${r.resumedAt.map(kib).join(', ')})` : '';
          bay.text =
            r.outcome === 'complete'
              ? `${r.lockId} read ${kib(r.manifestBytes)} in ${(r.durationMs / 1000).toFixed(1)} s${resumed}, manifest ${r.manifest?.verification}`
              : `${r.lockId} read failed: ${r.error?.code}`;
        }
        if (r.outcome === 'complete') {
          result.serial.push({
            lockId: r.lockId ?? '?',
            outcome: r.outcome,
            ...(r.manifest ? { verification: r.manifest.verification } : {}),
          });
          view.note(`serial ${bay?.bay ?? r.endpoint}: ${bay?.text ?? r.lockId}`);
        }
      } else if (r.manifest && r.lockId && lockIndex.has(r.lockId)) {
        trainManifests.add(r.manifest.manifestId);
      }
    });
    daemon.on('train-start', (e) => {
      trainStatus = { trainId: e.trainId, expected: plans.length, locks: trainLocks, startedAt: e.startedAt };
      view.note(`train ${e.trainId} arriving: ${plans.length} locks expected`);
    });
    daemon.on('train-lock', (p) => {
      const i = lockIndex.get(p.lockId);
      if (i === undefined) return;
      trainLocks[i] =
        p.state === 'read'
          ? p.verified === false
            ? 'read'
            : 'verified'
          : p.state === 'connecting' || p.state === 'reading'
            ? 'reading'
            : p.state === 'retrying'
              ? 'queued'
              : p.state;
    });

    // The outage: once about a third of the train is read, the agent's link goes dark.
    let outageStarted = false;
    const outageDone = new Promise<void>((resolve) => {
      if (o.outageSeconds <= 0 || plans.length === 0) {
        resolve();
        return;
      }
      daemon.on('train-lock', () => {
        if (
          outageStarted ||
          trainLocks.filter((s) => s === 'verified' || s === 'read').length < plans.length / 3
        )
          return;
        outageStarted = true;
        cutter.cut();
        view.note(
          `network outage: the agent's link to the broker is cut for ${o.outageSeconds} s (the train keeps being read)`,
        );
        void pause(o.outageSeconds * 1000, o.signal).then(() => {
          cutter.restore();
          view.note(
            `link restored after ${formatDuration(cutter.cutMs)}: ${daemon.sync?.status().backlog ?? 0} messages queued, draining`,
          );
          resolve();
        });
      });
    });
    const wireSync = () => {
      const sync = daemon.sync;
      if (!sync) return;
      sync.on('outage-start', (outage) => {
        exchangeStatus.outageSince = outage.startedAt;
        exchangeStatus.outageCause = outage.cause;
        view.note(`sync: outage recorded (${outage.cause}); reads go on, the backlog waits in the store`);
      });
      sync.on('outage-end', (outage) => {
        delete exchangeStatus.outageSince;
        result.outageMs += (outage.endedAt ?? Date.now()) - outage.startedAt;
        view.note(
          `sync: outage over after ${formatDuration((outage.endedAt ?? Date.now()) - outage.startedAt)}; it will be reported to the exchange`,
        );
      });
      sync.on('receipt', (r) => {
        if (!r.changed) return;
        if (r.status === 'accepted') exchangeStatus.receipts++;
        else exchangeStatus.rejected++;
      });
      sync.on('sent', () => {
        peakBacklog = Math.max(peakBacklog, sync.status().backlog);
      });
    };

    const trainEnd = new Promise<TrainSummary | undefined>((resolve) => {
      if (plans.length === 0) resolve(undefined);
      daemon.once('train-end', resolve);
      o.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });

    await daemon.start();
    o.onStarted?.();
    wireSync();
    view.start();
    cleanups.push(() => view.stop());
    const metricsUrl =
      daemon.httpPort === undefined ? undefined : `http://127.0.0.1:${daemon.httpPort}/metrics`;
    write(`  agent ready${metricsUrl ? `: health and metrics on ${metricsUrl}` : ''}`);
    if (officers) write(officers.announce(daemon.consolePort));

    const summary = await trainEnd;
    await Promise.race([outageDone, pause(0, o.signal)]);
    if (!o.signal.aborted) {
      // The backlog drains with the exchange's receipts.
      const deadline = Date.now() + 120_000;
      while (!o.signal.aborted && Date.now() < deadline && (daemon.sync?.status().backlog ?? 0) > 0) {
        await pause(250, o.signal);
      }
    }
    if (summary) result.summary = summary;
    const store = daemon.store;
    if (store) {
      for (const id of trainManifests)
        if (store.outbox.forManifest(id)?.state === 'acknowledged') result.delivered++;
    }
    view.stop();
    if (summary) {
      const verifiedStored = trainManifests.size;
      write('');
      write(
        `train ${summary.trainId} (${Math.ceil(plans.length / 2)} wagons, ${plans.length} locks) passed in ${formatDuration(summary.durationMs)}: ` +
          `read ${summary.read} · verified ${summary.verified} · stored ${verifiedStored} · delivered ${result.delivered} (receipts) · ` +
          `failed ${summary.failed.length} · missing ${summary.missing}`,
      );
      for (const f of summary.failed.slice(0, 5)) write(`  failed ${f.lockId}: ${f.code} ${f.message}`);
      write(
        `  outage: ${result.outageMs > 0 ? formatDuration(result.outageMs) : cutter.cutMs > 0 ? `${formatDuration(cutter.cutMs)} link cut (shorter than the grace time)` : 'none'}` +
          `; backlog peaked at ${peakBacklog}, ${daemon.sync?.status().backlog ?? 0} left unacknowledged`,
      );
    }
    for (const s of result.serial)
      write(`serial ${s.lockId}: ${s.outcome}, manifest ${s.verification ?? 'none'}`);
    write(
      `data: ${world.dbPath} — try: ctop-agent manifests list --db ${world.dbPath} · ctop-agent outages list --db ${world.dbPath}`,
    );
    write(`(${formatDuration(Date.now() - started)} in all)`);
    if (!o.once && !o.signal.aborted) {
      write(`the agent keeps running${metricsUrl ? ` (metrics on ${metricsUrl})` : ''}; Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        if (o.signal.aborted) resolve();
        else o.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    write('stopping: reads in progress are checkpointed, the sync stops, the database closes…');
  } finally {
    await cleanup();
  }
  write('stopped.');
  return result;
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
  for (const name of readdirSync(world.ttyDir)) rmSync(path.join(world.ttyDir, name), { force: true });
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
