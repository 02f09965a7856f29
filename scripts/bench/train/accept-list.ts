/**
 * How fast the controller's Filter Accept List turns heard locks into links while a train
 * passes: the train-speed bench's train (110 locks, 16 KiB manifests, 5 % loss, 0.05
 * disconnects/s, 8 connections of which the reader holds `links`, seed 17, time scale 4) at
 * one speed. For each list length, how long lists of that length were out and how many of
 * them connected (per second out); and, sampled through the passage, how many locks in
 * hearing (their mean signal above the receiver's sensitivity) were not heard yet, and how
 * many were heard and waiting — neither read, under way nor given up: the locks a list could
 * hold — against the locks listed.
 *
 * `node --import tsx scripts/bench/train/accept-list.ts [km/h] [links]`
 */
import { SENSITIVITY_DBM } from '../../../src/sim/ble/air-time.js';
import { audibleRange, DEFAULT_LATERAL_M } from '../../../src/sim/ble/train.js';
import { TrainReader } from '../../../src/train/train-reader.js';
import { readPassingTrain, speedTrain } from './speed-train.js';

const kmh = Number(process.argv[2] ?? 107);
const links = Number(process.argv[3] ?? 4);
const { train, clock, radio } = await speedTrain(kmh);

// A lock is in hearing within half the audible chord of its closest point to the antenna.
const halfChordMs =
  (Math.sqrt(audibleRange(SENSITIVITY_DBM['1m']) ** 2 - DEFAULT_LATERAL_M ** 2) / (kmh / 3.6)) * 1000;
const closestAt = new Map(
  train.locks.map((l) => {
    const { arriveAtMs, dwellMs = 0 } = l.peripheral.presence;
    return [l.address, arriveAtMs + dwellMs / 2];
  }),
);

/** Per list length: simulated ms out, and lists that connected. */
const byLength = new Map<number, { outMs: number; connected: number }>();
let listed = 0;
const openFirst = radio.openFirst.bind(radio);
radio.openFirst = (addresses, options) => {
  const outAt = clock.monotonic();
  const n = addresses.length;
  listed = n;
  return openFirst(addresses, {
    ...options,
    onAttemptOver: (address) => {
      listed = 0;
      const row = byLength.get(n) ?? { outMs: 0, connected: 0 };
      row.outMs += clock.monotonic() - outAt;
      if (address) row.connected++;
      byLength.set(n, row);
      options.onAttemptOver?.(address);
    },
  });
};

const reader = new TrainReader({ radio, gatewayId: 'BENCH', maxConcurrent: links, expected: 110, clock });
const arrivals = train.locks.map((l) => l.peripheral.presence.arriveAtMs);
const from = Math.min(...arrivals) + 1500;
const until = Math.max(...arrivals);
let sampledAt = clock.monotonic();
const weighted = { unheard: 0, queued: 0, listed: 0, total: 0 };
const sampler = setInterval(() => {
  const now = clock.monotonic();
  const dt = now - sampledAt;
  sampledAt = now;
  if (now < from || now > until) return;
  for (const [address, at] of closestAt) {
    if (Math.abs(now - at) >= halfChordMs) continue;
    const state = reader.board.lock(address)?.state;
    if (state === undefined) weighted.unheard += dt;
    else if (state === 'queued' || state === 'retrying') weighted.queued += dt;
  }
  weighted.listed += listed * dt;
  weighted.total += dt;
}, 10);
const summary = await readPassingTrain(reader, radio, train);
clearInterval(sampler);

const outMs = [...byLength.values()].reduce((s, r) => s + r.outMs, 0);
const connected = [...byLength.values()].reduce((s, r) => s + r.connected, 0);
console.log(
  `${kmh} km/h, ${links} links: read ${summary.read} of 110; ${connected} links from the list in ${(outMs / 1000).toFixed(1)} s out`,
);
for (const [n, r] of [...byLength].sort((a, b) => a[0] - b[0])) {
  console.log(
    `  ${String(n).padStart(2)} listed   out ${(r.outMs / 1000).toFixed(1).padStart(5)} s  connected ${String(r.connected).padStart(3)}` +
      `  ${(r.connected / (r.outMs / 1000)).toFixed(1).padStart(5)}/s`,
  );
}
const mean = (x: number) => (x / weighted.total).toFixed(1);
console.log(
  `  locks in hearing on average: ${mean(weighted.unheard)} not heard yet, ${mean(weighted.queued)} heard and waiting ` +
    `(neither read, under way nor given up); ${mean(weighted.listed)} listed`,
);
