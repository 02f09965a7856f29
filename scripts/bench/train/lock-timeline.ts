/**
 * When each lock of the train-speed bench's train (110 locks, 16 KiB manifests, 5 % loss,
 * 0.05 disconnects/s, 8 connections of which the reader holds 4, seed 17, time scale 4) came
 * into hearing, was first heard, had its read started, and how it ended: how late the
 * radio hears a lock, and how long a heard lock waits before its read starts — for the
 * locks read and those lost. A lock comes into hearing when its mean signal reaches the
 * receiver's sensitivity (the simulator's path loss, 8 m from the track).
 *
 * `node --import tsx scripts/bench/train/lock-timeline.ts [km/h] [--each]` (`--each`: a line per lock)
 */
import { SENSITIVITY_DBM } from '../../../src/sim/ble/air-time.js';
import { audibleRange, DEFAULT_LATERAL_M } from '../../../src/sim/ble/train.js';
import { TrainReader } from '../../../src/train/train-reader.js';
import { readPassingTrain, speedTrain } from './speed-train.js';

const kmh = Number(process.argv[2] ?? 80);
const each = process.argv.includes('--each');
const { train, clock, radio } = await speedTrain(kmh);
// From entering hearing to passing the antenna: the along-track half of the audible chord.
const audibleM = audibleRange(SENSITIVITY_DBM['1m']);
const toClosestMs = (Math.sqrt(audibleM ** 2 - DEFAULT_LATERAL_M ** 2) / (kmh / 3.6)) * 1000;

interface Timeline {
  index: number;
  audibleAt: number;
  heardAt?: number;
  startedAt?: number;
  ended?: string;
}
const byAddress = new Map<string, Timeline>(
  train.locks.map((l, index) => {
    const { arriveAtMs, dwellMs = 0 } = l.peripheral.presence;
    return [l.address, { index, audibleAt: arriveAtMs + dwellMs / 2 - toClosestMs }];
  }),
);

const reader = new TrainReader({ radio, gatewayId: 'BENCH', maxConcurrent: 4, expected: 110, clock });
reader.on('lock', (p) => {
  const lock = byAddress.get(p.address);
  if (!lock) return;
  const at = clock.monotonic();
  if (p.state === 'queued') lock.heardAt ??= radio.sightings.get(p.address)?.firstSeenAt ?? at;
  if (p.state === 'connecting') lock.startedAt ??= at;
  if (p.state === 'read') lock.ended = 'read';
  if (p.state === 'failed') lock.ended = p.error?.message ?? 'failed';
});
const summary = await readPassingTrain(reader, radio, train);

const locks = [...byAddress.values()];
const s = (ms: number) => (ms / 1000).toFixed(2);
if (each) {
  for (const l of locks) {
    const heard = l.heardAt === undefined ? 'never heard' : `heard ${s(l.heardAt)}`;
    const started = l.startedAt === undefined ? 'never started' : `started ${s(l.startedAt)}`;
    console.log(`#${l.index} audible ${s(l.audibleAt)} ${heard} ${started}: ${l.ended ?? '?'}`);
  }
}
function quantiles(name: string, values: number[]): void {
  if (values.length === 0) {
    console.log(`  ${name}: none`);
    return;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => s(sorted[Math.floor(p * (sorted.length - 1))]!);
  console.log(
    `  ${name.padEnd(44)} ${String(values.length).padStart(3)} locks  median ${q(0.5)} s  p90 ${q(0.9)} s`,
  );
}
console.log(`${kmh} km/h: read ${summary.read} of 110 (in hearing ~${s(2 * toClosestMs)} s each)`);
for (const [group, wanted] of [
  ['read', (l: Timeline) => l.ended === 'read'],
  ['not read', (l: Timeline) => l.ended !== 'read'],
] as const) {
  const heard = locks.filter((l) => wanted(l) && l.heardAt !== undefined);
  console.log(` ${group}:`);
  quantiles(
    'first heard, after coming into hearing',
    heard.map((l) => l.heardAt! - l.audibleAt),
  );
  quantiles(
    'read started, after first heard',
    heard.filter((l) => l.startedAt !== undefined).map((l) => l.startedAt! - l.heardAt!),
  );
}
