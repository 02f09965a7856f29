/**
 * How busy the one initiator is while a train passes: the train-speed bench's train (110
 * locks, 16 KiB manifests, 5 % loss, 0.05 disconnects/s, 8 connections of which the reader
 * holds 4, seed 17, time scale 4) at one speed, every connection attempt the reader makes
 * timed on the simulated clock from when it goes out to when it is over. Says whether the
 * initiator or the links bound the read fraction at that speed.
 *
 * `node --import tsx scripts/bench/train/initiator-time.ts [km/h]`
 */
import { TrainReader } from '../../../src/train/train-reader.js';
import { readPassingTrain, speedTrain, watchAttempts } from './speed-train.js';

const kmh = Number(process.argv[2] ?? 60);
const { train, clock, radio } = await speedTrain(kmh);

interface Attempt {
  outAt?: number;
  overAt?: number;
  connected?: boolean;
}
const attempts: Attempt[] = [];
/** The attempt under way per address: the radio makes one at a time, each opened anew. */
const current = new Map<string, Attempt>();
watchAttempts(radio, clock, {
  asked: (address) => {
    const a: Attempt = {};
    attempts.push(a);
    current.set(address, a);
  },
  out: (address, at) => {
    current.get(address)!.outAt = at;
  },
  over: (address, connected, at) => {
    const a = current.get(address)!;
    a.overAt = at;
    a.connected = connected;
  },
});

const reader = new TrainReader({ radio, gatewayId: 'BENCH', maxConcurrent: 4, expected: 110, clock });
const summary = await readPassingTrain(reader, radio, train);

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
