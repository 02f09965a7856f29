/**
 * The speed curve (issue 17 item 5): a 110-lock train (16 KiB manifests, 5 % base loss, 0.05
 * random disconnects per second, a controller with 8 connections (the reader holds 4), 1M PHY, the simulator's
 * default signal: heard to ~27.5 m) passes the gateway at 10, 20, 40, 60 and 80 km/h and at 80 %
 * of the physical limit (the top of the range the 0.90 goal covers); the
 * reader's read fraction at each speed, against the physical limit computed from the model in
 * the same run: the speed above which the air time the train needs exceeds what the radio
 * carries. Prints what each lost lock's failure says, grouped. Writes var/bench/train-speed.json
 * and, with the default links and controller, docs/train-speed.svg.
 *
 * `npm run bench -- train-speed [--speeds 10,40] [--seed N] [--passages N] [--links N]
 *   [--packets-per-event N] [--conn-interval ms] [--scanner-share preempt|contender|leftover]`
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readLock } from '../../src/lock/reader.js';
import { BleRadio } from '../../src/lock/transport/ble-radio.js';
import { SENSITIVITY_DBM } from '../../src/sim/ble/air-time.js';
import { linkGoodput } from '../../src/sim/ble/link-params.js';
import { SCANNER_SHARES, type ScannerShare } from '../../src/sim/ble/shared-air.js';
import { audibleRange, DEFAULT_LATERAL_M } from '../../src/sim/ble/train.js';
import { startSimulatedTrain, type TrainLockSpec } from '../../src/sim/ble-train.js';
import { TrainReader } from '../../src/train/train-reader.js';
import { speedCurveSvg } from '../lib/speed-curve-svg.js';
import { standingLock } from '../lib/standing-lock.js';
import { type BenchFigure, writeBenchResults } from './lib.js';

const LOCKS = 110;
const MANIFEST = 16 * 1024;
/** `--packets-per-event N`: a controller that caps each connection event at N exchanges (default: none). */
const ppeArg = process.argv.indexOf('--packets-per-event');
/**
 * The locks take the connection interval the reader asks for (BleRadio's, 10 ms);
 * `--conn-interval N` gives them a preference of their own instead (the rounds before the
 * ninth: 15 ms).
 */
const ciArg = process.argv.indexOf('--conn-interval');
const LINK = {
  ...(ciArg > 0 ? { connectionIntervalMs: Number(process.argv[ciArg + 1]) } : {}),
  lossRate: 0.05,
  disconnectRatePerSecond: 0.05,
  ...(ppeArg > 0 ? { packetsPerInterval: Number(process.argv[ppeArg + 1]) } : {}),
};
const CONNECTIONS = 8;
/**
 * `--scanner-share contender|leftover`: another controller's way of sharing the air with its
 * scanner (shared-air.ts); default `preempt`, the simulator's.
 */
const shareArg = process.argv.indexOf('--scanner-share');
const SCANNER_SHARE = (shareArg > 0 ? process.argv[shareArg + 1] : 'preempt') as ScannerShare;
if (!SCANNER_SHARES.includes(SCANNER_SHARE)) {
  throw new Error(
    `--scanner-share must be one of ${SCANNER_SHARES.join(', ')}, got ${String(SCANNER_SHARE)}`,
  );
}
/**
 * Links the reader holds at once: the daemon's default (`ble.maxConcurrent`), below what the
 * controller allows. More split the one radio's air further, so that each read outlasts its
 * lock's time in range at speed (40 km/h, two seeds: 82 and 94 of 110 read with 8 links,
 * 105 and 107 with 4; on 2026-12-06, seed 17: 102 with 8 at 40 km/h, but 31 against 47 at
 * 60 km/h, docs/BLE-SIM.md). `--links N` to try another number.
 */
const linksArg = process.argv.indexOf('--links');
const READING_LINKS = linksArg > 0 ? Number(process.argv[linksArg + 1]) : 4;
/** Two 40-ft containers per wagon, wagons 15 m apart (the simulator's default geometry). */
const LOCKS_PER_METRE = 2 / 15;

const speedsArg = process.argv.indexOf('--speeds');
/**
 * The five speeds, and by default the top of the range the 0.90 goal covers: 80 % of
 * the physical limit (computed below), where a reader that meets it anywhere meets it at least.
 */
const SPEEDS_KMH = speedsArg > 0 ? process.argv[speedsArg + 1]!.split(',').map(Number) : undefined;
/**
 * Simulated seconds per wall second. Host CPU time is free in simulated time, but the wait
 * for the pty between noble and the controller counts, scaled by this: a lower scale keeps
 * the host's share of a connection's set-up nearer a real HCI UART's.
 */
const scaleArg = process.argv.indexOf('--time-scale');
const TIME_SCALE = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 4;
const seedArg = process.argv.indexOf('--seed');
const SEED = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 17;
/**
 * Passages of the train per speed, seeds `--seed`, +1, …: above 40 km/h a passage reads a
 * few locks more or less than the next with the same seed (the host's timing moves every
 * event of a chaotic schedule; at 80 km/h 92–106 of 110 in 27 passages), so the figure there
 * is the mean of three. At 40 km/h and below every passage read all 110. `--passages N` for
 * N at every speed.
 */
const passagesArg = process.argv.indexOf('--passages');
const PASSAGES = passagesArg > 0 ? Number(process.argv[passagesArg + 1]) : undefined;

/**
 * Bytes one lock's read moves on air toward the gateway, measured: a standing lock read in
 * full, counted at the link layer (L2CAP payload of every notification).
 */
async function airBytesPerLock(): Promise<number> {
  const { train, radio, address, close } = await standingLock({
    lockId: 'SSL-SPEED-0000',
    manifest: randomBytes(MANIFEST),
    link: { connectionIntervalMs: 15 },
    timeScale: 4,
  });
  try {
    let bytes = 0;
    train.radio.emulator.controller.on('disconnect', (info) => {
      bytes += info.stats.bytesToCentral;
    });
    const result = await readLock({
      open: () => radio.open(address),
      gatewayId: 'BENCH',
      clock: train.world.clock,
    });
    if (result.outcome !== 'complete') throw new Error(`standing read failed: ${result.error?.code}`);
    await radio.close();
    await new Promise((r) => setTimeout(r, 100));
    return bytes;
  } finally {
    await close();
  }
}

async function passAt(kmh: number, seed: number) {
  const locks: TrainLockSpec[] = Array.from({ length: LOCKS }, (_, i) => ({
    lockId: `SSL-SPEED-${String(i + 1).padStart(4, '0')}`,
    manifest: randomBytes(MANIFEST),
  }));
  const train = await startSimulatedTrain({
    locks,
    link: LINK,
    timeScale: TIME_SCALE,
    seed,
    controller: { maxConnections: CONNECTIONS, scannerShare: SCANNER_SHARE },
    passage: { speedMps: kmh / 3.6 },
  });
  const radio = await BleRadio.open({ bindings: train.bindings, clock: train.world.clock });
  const reader = new TrainReader({
    radio,
    gatewayId: 'BENCH',
    maxConcurrent: READING_LINKS,
    expected: LOCKS,
    clock: train.world.clock,
  });
  const wallStart = performance.now();
  try {
    const done = reader.nextTrain();
    await reader.start();
    const summary = await done;
    const reasons: Record<string, number> = {};
    // What each failure says, its lock and figures blanked, so the lost locks group by cause.
    const causes: Record<string, number> = {};
    for (const f of summary.failed) {
      reasons[f.code] = (reasons[f.code] ?? 0) + 1;
      const cause = f.message.replaceAll(f.lockId, 'lock').replace(/-?\d+(\.\d+)?/g, '#');
      causes[cause] = (causes[cause] ?? 0) + 1;
    }
    const stats = train.radio.emulator.controller.stats;
    return {
      kmh,
      seed,
      read: summary.read,
      failed: summary.failed.length,
      missing: summary.missing,
      reasons,
      causes,
      simSeconds: summary.durationMs / 1000,
      wallSeconds: (performance.now() - wallStart) / 1000,
      disconnections: stats.disconnections,
      connectionEventsSkipped: stats.connectionEventsSkipped,
    };
  } finally {
    await reader.stop();
    await radio.close();
    await train.close();
  }
}

const perLockBytes = await airBytesPerLock();
// The radio's ceiling toward the gateway: one saturated link alone, at the base loss, at the
// interval that carries most (whichever the reader uses: the limit is the radio's, not its).
let capacity = 0;
let capacityIntervalMs = 0;
for (let units = 6; units <= 400; units++) {
  const goodput = linkGoodput(
    { phy: '1m', lossRate: LINK.lossRate },
    { attMtu: 247, llOctets: 251, connectionIntervalMs: units * 1.25 },
  );
  if (goodput > capacity) [capacity, capacityIntervalMs] = [goodput, units * 1.25];
}
// Value bytes are 244 of every 251 on air at this MTU; the measured bytes are L2CAP payload.
const perLockValueBytes = (perLockBytes * 244) / 251;
const audibleM = audibleRange(SENSITIVITY_DBM['1m']);
const alongM = 2 * Math.sqrt(audibleM * audibleM - DEFAULT_LATERAL_M * DEFAULT_LATERAL_M);
// The train needs locks-per-second × bytes-per-lock of air; it may not exceed the ceiling.
// Each lock must also fit its own time in range (alongM ÷ speed) alone: far above, at this size.
const limitFlow = capacity / (LOCKS_PER_METRE * perLockValueBytes);
const limitDwell = (capacity * alongM) / perLockValueBytes;
const limitMps = Math.min(limitFlow, limitDwell);
const limitKmh = limitMps * 3.6;

const runs = [];
const speeds: { kmh: number; passages: number; seeds: string; mean: number; min: number; max: number }[] = [];
for (const kmh of SPEEDS_KMH ?? [10, 20, 40, 60, 80, Math.floor(0.8 * limitKmh)]) {
  const passages = PASSAGES ?? (kmh > 40 ? 3 : 1);
  const reads: number[] = [];
  for (let i = 0; i < passages; i++) {
    const r = await passAt(kmh, SEED + i);
    console.log(
      `${kmh} km/h, seed ${r.seed}: read ${r.read}/${LOCKS}, failed ${r.failed} ${JSON.stringify(r.reasons)}, never heard ${r.missing}; ${r.simSeconds.toFixed(0)} sim-s (${r.wallSeconds.toFixed(0)} wall-s)`,
    );
    for (const [cause, n] of Object.entries(r.causes).sort((a, b) => b[1] - a[1]))
      console.log(`  ${String(n).padStart(3)} × ${cause}`);
    runs.push(r);
    reads.push(r.read);
  }
  speeds.push({
    kmh,
    passages,
    seeds: passages === 1 ? `seed ${SEED}` : `seeds ${SEED}–${SEED + passages - 1}`,
    mean: reads.reduce((a, b) => a + b, 0) / passages,
    min: Math.min(...reads),
    max: Math.max(...reads),
  });
}

const goalFor = (kmh: number): { goal: string; ok: (f: number) => boolean } | undefined => {
  if (kmh <= 20) return { goal: '= 1.00', ok: (f) => f === 1 };
  if (kmh <= 40) return { goal: '>= 0.95', ok: (f) => f >= 0.95 };
  if (kmh <= 0.8 * limitKmh)
    return { goal: '>= 0.90 (at most 80 % of the physical limit)', ok: (f) => f >= 0.9 };
  return undefined;
};
const figures: BenchFigure[] = speeds.map((r) => {
  const fraction = r.mean / LOCKS;
  const goal = goalFor(r.kmh);
  const spread = r.passages === 1 ? r.seeds : `mean of ${r.passages} passages, ${r.seeds}, ${r.min}–${r.max}`;
  return {
    name: `train of ${LOCKS} locks at ${r.kmh} km/h (${((r.kmh / limitKmh) * 100).toFixed(0)} % of the physical limit; ${spread}): locks read`,
    value: r.mean,
    unit: 'locks',
    baseline: { name: 'locks on the train', value: LOCKS, unit: 'locks' },
    ratio: fraction,
    ratioMeaning: 'read fraction',
    ...(goal ? { goal: goal.goal, met: goal.ok(fraction) } : {}),
  };
});
figures.push({
  name: 'physical limit: the speed at which the train needs all the air the radio carries',
  value: limitKmh,
  unit: 'km/h',
  baseline: {
    name: `radio ceiling toward the gateway (1M PHY, at its best interval ${capacityIntervalMs} ms, 5 % loss)`,
    value: capacity,
    unit: 'B/s',
  },
  ratio: perLockValueBytes / capacity,
  ratioMeaning: `seconds of the whole radio per lock (${perLockValueBytes.toFixed(0)} B each, ${LOCKS_PER_METRE.toFixed(3)} locks per metre)`,
});
writeBenchResults('train-speed', figures, {
  speeds,
  runs,
  perLockBytes,
  capacity,
  capacityIntervalMs,
  audibleM,
  timeScale: TIME_SCALE,
  seed: SEED,
  scannerShare: SCANNER_SHARE,
  limit: { kmh: limitKmh, byFlowKmh: limitFlow * 3.6, byDwellKmh: limitDwell * 3.6 },
});
const svg = speedCurveSvg(
  speeds.map((r) => ({ kmh: r.kmh, fraction: r.mean / LOCKS })),
  limitKmh,
);
// The documented curve is of the defaults; a trial of other speeds, seed, time scale,
// controller or link count leaves it be.
if ([linksArg, ppeArg, shareArg, speedsArg, seedArg, scaleArg, passagesArg].every((i) => i < 0)) {
  writeFileSync(new URL('../../docs/train-speed.svg', import.meta.url), svg);
  console.log('→ docs/train-speed.svg');
}
