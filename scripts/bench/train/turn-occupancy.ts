/**
 * What the manifest turns do while the train-speed bench's train passes (110 locks, 16 KiB
 * manifests, 5 % loss, 0.05 disconnects/s, 8 connections, seed 17, time scale 4): the share
 * of the passage — from the first lock's arrival plus 1.5 s to the last lock's arrival, so
 * neither the empty start nor the tail counts — in which every turn moved a manifest, and
 * why a turn was free otherwise:
 *
 * - a lock being set up: a read under way that has not reached its manifest (connection,
 *   GATT set-up, HELLO, AUTH), or one finishing (event log, BYE) or waiting to be linked again;
 * - a connection attempt out: the initiator waiting to hear a lock it listed, no read being set up;
 * - nothing under way: no lock worth connecting to (none heard yet, or all left, leaving or
 *   with too little time left).
 *
 * Sampled every 20 ms of wall time, weighted by the simulated time between samples.
 *
 * `node --import tsx scripts/bench/train/turn-occupancy.ts [km/h] [links] [manifests at once] [preempt|contender|leftover]
 *   [scan interval, ms]`
 */
import { SCANNER_SHARES } from '../../../src/sim/ble/shared-air.js';
import { TrainReader } from '../../../src/train/train-reader.js';
import { readPassingTrain, speedTrain } from './speed-train.js';

const kmh = Number(process.argv[2] ?? 80);
const links = Number(process.argv[3] ?? 4);
const turns = Number(process.argv[4] ?? 2);
const share = SCANNER_SHARES.find((s) => s === process.argv[5]) ?? 'preempt';
const scanIntervalMs = process.argv[6] ? Number(process.argv[6]) : undefined;
const { train, clock, radio } = await speedTrain(kmh, share, scanIntervalMs);

let listsOut = 0;
const openFirst = radio.openFirst.bind(radio);
radio.openFirst = (addresses, options) => {
  listsOut++;
  return openFirst(addresses, {
    ...options,
    onAttemptOver: (address) => {
      listsOut--;
      options.onAttemptOver?.(address);
    },
  });
};

const reader = new TrainReader({
  radio,
  gatewayId: 'BENCH',
  maxConcurrent: links,
  manifestsAtOnce: turns,
  expected: 110,
  clock,
});
const arrivals = train.locks.map((l) => l.peripheral.presence.arriveAtMs);
const from = Math.min(...arrivals) + 1500;
const until = Math.max(...arrivals);
const time = { moving: 0, settingUp: 0, connecting: 0, idle: 0 };
let sampledAt = clock.monotonic();
const sampler = setInterval(() => {
  const now = clock.monotonic();
  const dt = now - sampledAt;
  sampledAt = now;
  if (now < from || now > until) return;
  const moving = reader.manifestsMoving;
  const states = [...(reader.board.current?.locks.values() ?? [])].map((l) => l.state);
  const underWay = states.filter((s) => s === 'connecting' || s === 'reading').length;
  if (moving >= turns) time.moving += dt;
  else if (underWay > moving) time.settingUp += dt;
  else if (listsOut > 0) time.connecting += dt;
  else time.idle += dt;
}, 20);
const summary = await readPassingTrain(reader, radio, train);
clearInterval(sampler);

const total = time.moving + time.settingUp + time.connecting + time.idle;
const pct = (x: number) => `${((x / total) * 100).toFixed(0).padStart(3)} %`;
console.log(
  `${kmh} km/h, ${links} links, ${turns} manifests at once, scanner share ${share}: read ${summary.read} of 110`,
);
console.log(`  every turn moving a manifest   ${pct(time.moving)}`);
console.log(`  a turn free: a lock set up     ${pct(time.settingUp)}`);
console.log(`  a turn free: attempt out       ${pct(time.connecting)}`);
console.log(`  a turn free: nothing under way ${pct(time.idle)}`);
const why = new Map<string, number>();
for (const f of summary.failed) {
  const key = f.message.replace(/SSL-SPEED-\d+/g, 'L').replace(/\d+(\.\d+)?/g, '#');
  why.set(key, (why.get(key) ?? 0) + 1);
}
for (const [k, n] of [...why].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(3)} × ${k}`);
