/**
 * `npm run soak -- --minutes 10 [--seed N] [--keep]`: the daemon as a real child process
 * with real mosquitto (persistence on) behind a TCP proxy, the reference exchange, BLE
 * trains through the simulated controller and serial locks plugged in and out at the bay —
 * some hostile (cloned, wrong hash), some tampered (opened and sealed again on the way) —
 * while the network is cut, the broker killed and restarted, the daemon SIGKILLed, the disk
 * filled and the wall clock stepped. Then the invariants (docs/SOAK.md); a summary on
 * stdout, JSON in var/soak/soak-<time>.json, exit 1 when any invariant fails.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { DEMO_GATEWAY, prepareDemoWorld } from '../../src/demo/demo-world.js';
import { startExchange } from '../../src/reference-exchange/index.js';
import { SimRadio } from '../../src/sim/ble/sim-radio.js';
import { SimWorld } from '../../src/sim/ble/world.js';
import { type SerialLockSetup, startSerialLock } from '../../src/sim/lock/serial-lock-setup.js';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { TcpProxy } from '../../test/helpers/tcp-proxy.js';
import { DaemonChild, type LogLine, libfaketime, type Sample, WallClock } from './daemon.js';
import { checkInvariants, type Episode, type Presented } from './invariants.js';
import { addTrain, makeLocks, type SoakLock } from './locks.js';
import { makeSchedule, type SoakEvent } from './schedule.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: 'var/soak' },
    /** auto: a tmpfs when mount works (root), else the threshold; threshold forces the fallback. */
    'disk-full': { type: 'string', default: 'auto' },
  },
});
const minutes = Number(args.minutes);
if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
const wallStart = Date.now();
function say(text: string): void {
  process.stdout.write(`[${((Date.now() - wallStart) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
  note({ soak: text, time: Date.now() });
}

const schedule = makeSchedule(minutes, seed);
const outDir = path.resolve(args.out);
mkdirSync(outDir, { recursive: true });
const stem = `soak-${new Date(wallStart).toISOString().replace(/[:.]/g, '-')}`;
/** Every daemon log line (and the soak's own notes), for the post-mortem of a failed run. */
const logFd = openSync(path.join(outDir, `${stem}.log`), 'a');
const note = (obj: Record<string, unknown>) => writeSync(logFd, `${JSON.stringify(obj)}\n`);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ctop-soak-'));
const teardown: (() => unknown)[] = [];
say(`soak: ${minutes} min, seed ${seed}, scratch ${scratch}`);

const world = prepareDemoWorld(path.join(scratch, 'world'));
const ttyDir = world.ttyDir;

// --- The database filesystem: a small tmpfs of its own if we may mount, so the disk can
// really fill up; otherwise the store's free-space threshold is raised above the real free
// space for the episode (the same alarm, reached honestly but not by a full disk).
const dbDir = path.join(scratch, 'db');
mkdirSync(dbDir);
let diskMode: 'tmpfs' | 'threshold' = 'threshold';
const TMPFS_MIB = 48;
const MIN_FREE_MIB = 8;
try {
  if (args['disk-full'] === 'threshold') throw new Error('threshold asked for');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MIB}m,mode=0700`, 'tmpfs', dbDir], {
    stdio: 'ignore',
  });
  diskMode = 'tmpfs';
  teardown.push(() => execFileSync('umount', ['-l', dbDir], { stdio: 'ignore' }));
} catch {
  say('cannot mount a tmpfs here (not root?): the disk-full episode raises store.minFreeMiB instead');
}
const dbPath = path.join(dbDir, 'agent.db');

const clock = new WallClock(path.join(scratch, 'faketime'));
if (!libfaketime())
  say('libfaketime not found (apt-get install faketime): the clock jumps are skipped and reported so');

async function cleanup(): Promise<void> {
  for (const step of teardown.reverse()) {
    try {
      await step();
    } catch {
      /* best effort */
    }
  }
  if (!args.keep) rmSync(scratch, { recursive: true, force: true });
}

let exitCode = 1;
try {
  exitCode = await run();
} catch (err) {
  say(`soak aborted: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(exitCode);

async function run(): Promise<number> {
  const broker = await Mosquitto.start(
    { persistence: true, autosaveInterval: 2 },
    path.join(scratch, 'mosquitto'),
  );
  teardown.push(() => broker.dispose());
  const proxy = await TcpProxy.start(broker.port);
  teardown.push(() => proxy.close());
  const exchange = await startExchange({
    brokerUrl: broker.url,
    dbPath: path.join(scratch, 'exchange.db'),
    key: world.exchangeKey,
    trust: world.exchangeTrust,
    address: 'CTOP://KZ/EXCHANGE',
    keepaliveSeconds: 2,
    reconnectPeriodMs: 200,
  });
  teardown.push(() => exchange.stop());
  const simWorld = new SimWorld({ timeScale: 1, seed, link: { lossRate: 0.01 } });
  const radio = await SimRadio.start({ world: simWorld });
  teardown.push(() => radio.close());

  const configFile = path.join(scratch, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      role: 'checkpoint',
      gateway: {
        id: DEMO_GATEWAY.gatewayId,
        country: DEMO_GATEWAY.country,
        checkpoint: DEMO_GATEWAY.checkpoint,
        key: world.gatewayKeyFile,
      },
      trust: { store: world.agentTrustFile },
      locks: { trustOnFirstUse: true },
      store: { path: dbPath, minFreeMiB: MIN_FREE_MIB, spaceCheckSeconds: 1 },
      serial: {
        ports: [path.join(ttyDir, 'bay-*')],
        baudRate: 115_200,
        scanIntervalMs: 300,
        probeIntervalMs: 1000,
      },
      ble: {
        enabled: true,
        uart: { port: radio.port, baudRate: 1_000_000 },
        maxConcurrent: 4,
        connectTimeoutMs: 8000,
        gattTimeoutMs: 4000,
      },
      sync: {
        brokers: [proxy.url],
        exchangeAddress: 'CTOP://KZ/EXCHANGE',
        keepaliveSeconds: 2,
        connectTimeoutMs: 2000,
        reconnectDelayMs: 300,
        receiptTimeoutMs: 3000,
        pollIntervalMs: 250,
        outageGraceMs: 1000,
        stopTimeoutMs: 1000,
      },
      http: { listen: '127.0.0.1:0' },
      log: { level: 'info', format: 'json' },
      shutdown: { readGraceMs: 500 },
    }),
  );

  // --- The daemon, its incarnations, what its log says.
  const daemons: DaemonChild[] = [];
  let current: DaemonChild | undefined;
  let extraEnv: NodeJS.ProcessEnv = {};
  const unexpectedExits: { pid: number; code: number | null; signal: string | null; stderr: string }[] = [];
  const samples: Sample[] = [];
  let peakMetricRss = 0;
  const storedReads = new Map<string, { complete: boolean }[]>();
  const counters = {
    readsComplete: 0,
    readsFailed: 0,
    refusedStoreFull: 0,
    errorLines: 0,
    trainEnds: 0,
  };
  const errors: string[] = [];
  let stopping = false;
  const onLine = (l: LogLine, d: DaemonChild) => {
    note({ pid: d.pid, ...l });
    if (l.component === 'ingest' && typeof l.outcome === 'string' && typeof l.lockId === 'string') {
      if (l.outcome === 'complete') counters.readsComplete++;
      else counters.readsFailed++;
      if (l.trust !== undefined) {
        const list = storedReads.get(l.lockId) ?? [];
        list.push({ complete: l.outcome === 'complete' });
        storedReads.set(l.lockId, list);
      }
    }
    if (l.code === 'E_STORE_FULL' && /not stored/.test(l.msg)) counters.refusedStoreFull++;
    if (/train .* (passed|ended)|train-end/i.test(l.msg)) counters.trainEnds++;
    if (l.level >= 50) {
      counters.errorLines++;
      if (errors.length < 40) errors.push(`${l.code ?? ''} ${l.msg}`.trim());
    }
  };
  const startDaemon = async (): Promise<DaemonChild> => {
    const d = new DaemonChild(configFile, { ...clock.env(), ...extraEnv }, onLine);
    daemons.push(d);
    current = d;
    void d.exited.then((exit) => {
      if (d.killedOnPurpose) return;
      unexpectedExits.push({
        pid: d.pid,
        code: exit.code,
        signal: exit.signal,
        stderr: d.stderr.slice(-2000),
      });
      say(`daemon ${d.pid} exited on its own (${exit.code ?? exit.signal}): restarted as systemd would`);
      if (!stopping && current === d) void daemonOp(async () => void (await startDaemon()));
    });
    if (!(await d.ready(60_000))) say(`daemon ${d.pid} not ready within 60 s`);
    return d;
  };
  // Restarts one at a time (a kill and the disk-full episode's restart never interleave).
  let chain: Promise<unknown> = Promise.resolve();
  const daemonOp = (op: () => Promise<void>) => {
    const next = chain.then(op, op);
    chain = next.catch(() => undefined);
    return next;
  };
  teardown.push(async () => {
    for (const d of daemons) if (d.running) await d.kill('SIGKILL');
  });

  const sampler = setInterval(() => {
    const s = current?.sample();
    if (s) samples.push(s);
  }, 1000);
  const metricSampler = setInterval(() => {
    void current?.metricRss().then((v) => {
      if (v !== undefined) peakMetricRss = Math.max(peakMetricRss, v);
    });
  }, 5000);
  teardown.push(() => {
    clearInterval(sampler);
    clearInterval(metricSampler);
  });

  const first = await startDaemon();
  if (first.readyAt === undefined) throw new Error(`the daemon did not start: ${first.stderr}`);
  say(`daemon ready (pid ${first.pid}, health on ${first.httpPort}); chaos for ${minutes} min`);

  // --- Chaos.
  const t0 = Date.now();
  const presented: Presented[] = [];
  const episodes: Episode[] = [];
  const figures = {
    trains: 0,
    bleLocks: 0,
    serialLocks: 0,
    networkCuts: 0,
    brokerRestarts: 0,
    daemonKills: 0,
    diskFull: [] as { mode: string; startedAt: number; durationMs: number; refusedReads: number }[],
    clockJumps: [] as { at: number; fromSeconds: number; toSeconds: number }[],
  };
  let lastTrainLeavesSim = 0;
  const bay = new Set<Promise<void>>();
  let ballast: string | undefined;

  /** The incarnation that is up and ready now, if any. */
  const upNow = (): DaemonChild | undefined =>
    current?.readyAt !== undefined && current.running ? current : undefined;
  const stillUp = (d: DaemonChild | undefined): boolean => d !== undefined && d === current && d.running;

  const plugSerial = (index: number, kind: SoakLock['kind']) => {
    const [spec] = makeLocks(
      world,
      'serial',
      '7100',
      [kind],
      () => `SSL-KZ-B${String(index).padStart(4, '0')}`,
      500 + index,
    );
    const lock = spec!;
    presented.push({ ...lock, presentedAt: Date.now() });
    figures.serialLocks++;
    const task = (async () => {
      let setup: SerialLockSetup | undefined;
      const link = path.join(ttyDir, `bay-${index}`);
      try {
        setup = await startSerialLock({
          lockId: lock.lockId,
          manifest: lock.manifest,
          baudRate: 115_200,
          engine: lock.engine,
        });
        symlinkSync(setup.pty.gatewayPath, link);
        const plugged = Date.now();
        const dwell = 2000 + Math.random() * 4000;
        // The officer unplugs it once the gateway has stored the read (or gives up after 90 s).
        while (Date.now() - plugged < 90_000) {
          const reads = storedReads.get(lock.lockId) ?? [];
          const done =
            kind === 'genuine' || kind === 'tampered' ? reads.some((r) => r.complete) : reads.length > 0;
          if (done && Date.now() - plugged > dwell) break;
          await sleep(250);
        }
      } finally {
        rmSync(link, { force: true });
        await setup?.close();
      }
    })().catch((err) => say(`serial ${lock.lockId}: ${(err as Error).message}`));
    bay.add(task);
    void task.finally(() => bay.delete(task));
  };

  const handle = async (e: SoakEvent): Promise<void> => {
    switch (e.type) {
      case 'train': {
        const locks = makeLocks(
          world,
          'ble',
          String(7200 + e.index),
          e.kinds,
          (i) => `SSL-KZ-T${String(e.index).padStart(2, '0')}L${String(i).padStart(2, '0')}`,
          e.index * 100,
        );
        const leaves = addTrain(simWorld, locks, { startInMs: 2000, speedMps: schedule.speedMps });
        lastTrainLeavesSim = Math.max(lastTrainLeavesSim, leaves);
        for (const l of locks) presented.push({ ...l, presentedAt: Date.now() });
        figures.trains++;
        figures.bleLocks += locks.length;
        say(`train ${e.index}: ${locks.length} locks (${e.kinds.filter((k) => k !== 'genuine').join(', ')})`);
        return;
      }
      case 'serial':
        plugSerial(e.index, e.kind);
        return;
      case 'cut': {
        figures.networkCuts++;
        const start = Date.now();
        const up = upNow();
        say(`network cut (${e.mode}) for ${(e.durationMs / 1000).toFixed(1)} s`);
        if (e.mode === 'blackhole') proxy.blackhole();
        else {
          proxy.refuse();
          proxy.cut();
        }
        await sleep(e.durationMs);
        proxy.restore();
        // Connections that went dark stay dark until the keepalive gives up on them.
        episodes.push({
          kind: `cut:${e.mode}`,
          startedAt: start,
          endedAt: Date.now(),
          daemonUp: stillUp(up),
        });
        return;
      }
      case 'broker': {
        figures.brokerRestarts++;
        const start = Date.now();
        const up = upNow();
        say(`broker ${e.signal} and restart after ${(e.downMs / 1000).toFixed(1)} s`);
        await broker.kill(e.signal);
        await sleep(e.downMs);
        await broker.restart();
        episodes.push({
          kind: `broker:${e.signal}`,
          startedAt: start,
          endedAt: Date.now(),
          daemonUp: stillUp(up),
        });
        return;
      }
      case 'kill':
        await daemonOp(async () => {
          const d = current;
          if (!d) return;
          figures.daemonKills++;
          say(`daemon ${d.pid} SIGKILL, back in ${(e.downMs / 1000).toFixed(1)} s`);
          await d.kill('SIGKILL');
          await sleep(e.downMs);
          await startDaemon();
        });
        return;
      case 'disk-full': {
        const refusedBefore = counters.refusedStoreFull;
        const startedAt = Date.now();
        if (diskMode === 'tmpfs') {
          ballast = path.join(dbDir, 'ballast');
          const fd = openSync(ballast, 'w');
          const chunk = Buffer.alloc(1024 * 1024, 0xa5);
          const fs = statfsSync(dbDir);
          const mib = Math.floor((fs.bavail * fs.bsize) / 1048576) - 2;
          for (let i = 0; i < mib; i++) writeSync(fd, chunk);
          closeSync(fd);
          const left = statfsSync(dbDir);
          say(
            `disk full: ${mib} MiB ballast on the database's ${TMPFS_MIB} MiB tmpfs, ${((left.bavail * left.bsize) / 1048576).toFixed(1)} MiB left (reserve ${MIN_FREE_MIB} MiB)`,
          );
          await sleep(e.durationMs);
          rmSync(ballast, { force: true });
          ballast = undefined;
        } else {
          const fs = statfsSync(dbDir);
          const above = Math.ceil((fs.bavail * fs.bsize) / 1048576) + 1024;
          say(`disk full (threshold): daemon restarted with CTOP_STORE__MIN_FREE_MI_B=${above}`);
          await daemonOp(async () => {
            extraEnv = { CTOP_STORE__MIN_FREE_MI_B: String(above) };
            await current?.stop();
            await startDaemon();
          });
          await sleep(e.durationMs);
          await daemonOp(async () => {
            extraEnv = {};
            await current?.stop();
            await startDaemon();
          });
        }
        say('disk space back');
        await sleep(3000);
        figures.diskFull.push({
          mode: diskMode,
          startedAt,
          durationMs: Date.now() - startedAt,
          refusedReads: counters.refusedStoreFull - refusedBefore,
        });
        return;
      }
      case 'clock': {
        if (!libfaketime()) return;
        figures.clockJumps.push({
          at: Date.now(),
          fromSeconds: clock.offsetSeconds,
          toSeconds: e.offsetSeconds,
        });
        say(`wall clock of the daemon: ${clock.offsetSeconds} s → ${e.offsetSeconds} s from the real time`);
        clock.set(e.offsetSeconds);
        return;
      }
    }
  };

  const running = new Set<Promise<void>>();
  const timers = schedule.events.map((e) =>
    setTimeout(() => {
      const p = handle(e).catch((err) => say(`${e.type} failed: ${(err as Error).stack}`));
      running.add(p);
      void p.finally(() => running.delete(p));
    }, e.at),
  );
  teardown.push(() => {
    for (const t of timers) clearTimeout(t);
  });
  await sleep(Math.max(0, t0 + schedule.durationMs - Date.now()));
  say('chaos over: waiting for the episodes under way, then the drain');
  await Promise.all([...running]);
  await chain;
  proxy.restore();
  if (!broker.running) await broker.restart();
  if (clock.offsetSeconds !== 0) clock.set(0);
  if (!current?.running) await daemonOp(async () => void (await startDaemon()));

  // --- Drain: the bay empties, the last train has gone, the backlog is acknowledged.
  const drainStart = Date.now();
  const drainLimitMs = 90_000;
  const { agentState } = await import('./invariants.js');
  let drained = false;
  while (Date.now() - drainStart < drainLimitMs) {
    const trainGone = simWorld.clock.monotonic() > lastTrainLeavesSim + 3000;
    if (bay.size === 0 && trainGone) {
      const s = agentState(dbPath, exchange, presented);
      if (s.pending === 0 && s.openOutages === 0 && s.missingAtExchange === 0) {
        drained = true;
        break;
      }
    }
    await sleep(1000);
  }
  const drainMs = Date.now() - drainStart;
  say(drained ? `drained in ${(drainMs / 1000).toFixed(1)} s` : `NOT drained after ${drainLimitMs / 1000} s`);

  stopping = true;
  const last = current!;
  const stopped = await last.stop();
  say(`daemon stopped (${stopped.code ?? stopped.signal})`);
  await sleep(500);

  const result = checkInvariants({
    dbPath,
    exchange,
    gatewayId: DEMO_GATEWAY.gatewayId,
    presented,
    episodes,
    clockJumps: figures.clockJumps,
    samples,
    daemons,
    unexpectedExits,
    finalStop: stopped,
    drained,
  });
  const report = {
    tool: 'ctop-agent soak',
    startedAt: new Date(wallStart).toISOString(),
    seed,
    minutes,
    wallSeconds: Math.round((Date.now() - wallStart) / 1000),
    drainSeconds: Math.round(drainMs / 100) / 10,
    diskFullMode: diskMode,
    clockJumps: libfaketime()
      ? 'libfaketime (wall clock only, monotonic untouched)'
      : 'skipped: no libfaketime',
    figures: {
      ...figures,
      daemonIncarnations: daemons.length,
      readsComplete: counters.readsComplete,
      readsFailed: counters.readsFailed,
      refusedStoreFull: counters.refusedStoreFull,
      errorLogLines: counters.errorLines,
      peakMetricRssBytes: peakMetricRss,
      ...result.figures,
    },
    invariants: result.invariants,
    errorLinesSample: errors,
    ok: result.invariants.every((i) => i.ok),
  };
  const outFile = path.join(outDir, `${stem}.json`);
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);

  const f = report.figures;
  const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
  process.stdout.write(
    [
      '',
      `soak ${minutes} min, seed ${seed}: ${report.ok ? 'PASS' : 'FAIL'} (${report.wallSeconds} s wall)`,
      `  trains ${f.trains} (${f.bleLocks} BLE locks) · serial locks ${f.serialLocks} · reads ${f.readsComplete} complete, ${f.readsFailed} failed`,
      `  genuine manifests ${f.genuine} → at the exchange ${f.genuineAtExchange} · alerts expected ${f.alertsExpected}, delivered ${f.alertsDelivered}`,
      `  network cuts ${f.networkCuts} · broker restarts ${f.brokerRestarts} · daemon kills ${f.daemonKills} · outages ${f.outages} (reported ${f.outagesReported})`,
      `  disk full: ${f.diskFull.map((d) => `${d.mode}, ${(d.durationMs / 1000).toFixed(0)} s, ${d.refusedReads} reads refused`).join('; ') || 'none'}`,
      `  clock jumps: ${f.clockJumps.map((j) => `${j.fromSeconds}→${j.toSeconds} s`).join(', ') || 'none'}`,
      `  peak RSS ${mib(f.peakRssBytes)} (metrics ${mib(f.peakMetricRssBytes)}) · fds ${f.fdMin}–${f.fdMax} · drain ${report.drainSeconds} s`,
      ...result.invariants.map(
        (i) => `  ${i.ok ? 'ok  ' : 'FAIL'} ${i.name}${i.detail ? `: ${i.detail}` : ''}`,
      ),
      `  report: ${path.relative(process.cwd(), outFile)} (daemon log: ${stem}.log)`,
      '',
    ].join('\n'),
  );
  if (ballast && existsSync(ballast)) rmSync(ballast, { force: true });
  return report.ok ? 0 : 1;
}
