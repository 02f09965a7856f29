/**
 * How busy the one initiator is while a train passes: the train-speed bench's train (110
 * locks, 16 KiB manifests, 5 % loss, 0.05 disconnects/s, 8 connections of which the reader
 * holds 4, seed 17, time scale 4) at one speed, every connection attempt the reader makes
 * timed on the simulated clock from when it goes out to when it is over. Says whether the
 * initiator or the links bound the read fraction at that speed.
 *
 * `node --import tsx scripts/bench/train/initiator-time.ts [km/h]`
 */
import { randomBytes } from 'node:crypto';
import { BleRadio } from '../../../src/lock/transport/ble-radio.js';
import { startSimulatedTrain } from '../../../src/sim/ble-train.js';
import { TrainReader } from '../../../src/train/train-reader.js';

const kmh = Number(process.argv[2] ?? 60);
const locks = Array.from({ length: 110 }, (_, i) => ({
  lockId: `SSL-SPEED-${String(i + 1).padStart(4, '0')}`,
  manifest: randomBytes(16 * 1024),
}));
const train = await startSimulatedTrain({
  locks,
  link: { connectionIntervalMs: 15, lossRate: 0.05, disconnectRatePerSecond: 0.05 },
  timeScale: 4,
  seed: 17,
  controller: { maxConnections: 8 },
  passage: { speedMps: kmh / 3.6 },
});
const clock = train.world.clock;
const radio = await BleRadio.open({ bindings: train.bindings, clock });

interface Attempt {
  outAt?: number;
  overAt?: number;
  connected?: boolean;
}
const attempts: Attempt[] = [];
const open = radio.open.bind(radio);
radio.open = (address, options = {}) => {
  const a: Attempt = {};
  attempts.push(a);
  return open(address, {
    ...options,
    onTurn: () => {
      // The reader may give the attempt up here (the lock unheard, or leaving): it never goes out.
      const turn = options.onTurn ? options.onTurn() : { connectTimeoutMs: options.connectTimeoutMs };
      a.outAt = clock.monotonic();
      return turn;
    },
    onAttemptOver: (connected) => {
      a.overAt = clock.monotonic();
      a.connected = connected;
      options.onAttemptOver?.(connected);
    },
  });
};

const reader = new TrainReader({ radio, gatewayId: 'BENCH', maxConcurrent: 4, expected: 110, clock });
const done = reader.nextTrain();
await reader.start();
const summary = await done;
await reader.stop();
await radio.close();
await train.close();

const went = attempts.filter((a) => a.outAt !== undefined && a.overAt !== undefined);
const ms = (xs: Attempt[]) => xs.map((a) => a.overAt! - a.outAt!).sort((x, y) => x - y);
const at = (xs: number[], p: number) => (xs.length ? xs[Math.floor(p * (xs.length - 1))]!.toFixed(0) : '–');
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / 1000;
const connected = ms(went.filter((a) => a.connected));
const failed = ms(went.filter((a) => !a.connected));
console.log(
  `${kmh} km/h: read ${summary.read} of 110 in ${(summary.durationMs / 1000).toFixed(1)} s; ` +
    `${attempts.length} connection attempts (${attempts.length - went.length} given up before they went out), ` +
    `${connected.length} connected, ${failed.length} failed`,
);
console.log(
  `  connected in ms: p10 ${at(connected, 0.1)}, median ${at(connected, 0.5)}, p90 ${at(connected, 0.9)}; ` +
    `failed after: median ${at(failed, 0.5)}`,
);
console.log(
  `  initiator busy ${sum([...connected, ...failed]).toFixed(1)} s of ${(summary.durationMs / 1000).toFixed(1)} s ` +
    `(${sum(connected).toFixed(1)} s connecting, ${sum(failed).toFixed(1)} s on attempts that failed)`,
);
