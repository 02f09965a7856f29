/**
 * How strong a lock of the train-speed bench's train (110 locks, 16 KiB manifests, 5 % loss,
 * 0.05 disconnects/s, 8 connections, seed 17, time scale 4) was when last heard, at one
 * speed: the smoothed signal the train reader judges a silence by (`departureRssiDbm`,
 * default −80 dBm: a lock leaves range through its edge). Prints how many were last heard at
 * each signal, the strongest, and how many stronger than the rule's default.
 *
 * `node --import tsx scripts/bench/train/departures.ts [km/h] [passages]`
 */
import type { LockSighting } from '../../../src/lock/transport/ble-radio.js';
import { TrainReader } from '../../../src/train/train-reader.js';
import { speedTrain } from './speed-train.js';

const kmh = Number(process.argv[2] ?? 80);
const passages = Number(process.argv[3] ?? 1);
const RULE_DBM = -80;

const lastHeard: number[] = [];
for (let i = 0; i < passages; i++) {
  const { train, clock, radio } = await speedTrain(kmh);
  // The radio updates each lock's sighting as it hears it (and forgets it some time after):
  // kept here, each holds the lock's signal when it fell silent.
  const sightings = new Map<string, LockSighting>();
  radio.on('sighting', (s) => sightings.set(s.address, s));
  // The bench's reader: 4 links (the daemon's ble.maxConcurrent).
  const reader = new TrainReader({ radio, gatewayId: 'BENCH', maxConcurrent: 4, expected: 110, clock });
  const done = reader.nextTrain();
  await reader.start();
  const summary = await done;
  for (const s of sightings.values()) lastHeard.push(s.meanRssi);
  await reader.stop();
  await radio.close();
  await train.close();
  console.log(`${kmh} km/h, passage ${i + 1}: read ${summary.read} of 110, ${sightings.size} locks heard`);
}

const byDbm = new Map<number, number>();
for (const dbm of lastHeard) byDbm.set(Math.floor(dbm), (byDbm.get(Math.floor(dbm)) ?? 0) + 1);
for (const [dbm, n] of [...byDbm].sort((a, b) => b[0] - a[0])) {
  console.log(`  ${String(dbm).padStart(4)} dBm  ${String(n).padStart(3)} ${'#'.repeat(n)}`);
}
const stronger = lastHeard.filter((dbm) => dbm >= RULE_DBM).length;
console.log(
  `last heard: ${lastHeard.length} locks, strongest ${Math.max(...lastHeard).toFixed(1)} dBm; ` +
    `${stronger} at ${RULE_DBM} dBm or stronger (their silence no departure)`,
);
