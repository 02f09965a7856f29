/**
 * What happens when, drawn from a seed: trains, serial plugs, network cuts, broker
 * restarts, daemon kills, the disk-full episode and the clock jumps. Times are ms from the
 * moment the daemon first reported ready.
 */
import { seededRandom } from '../../src/sim/prng.js';
import type { LockKind } from './locks.js';

export type SoakEvent =
  | { at: number; type: 'train'; index: number; kinds: LockKind[] }
  | { at: number; type: 'serial'; index: number; kind: LockKind }
  | { at: number; type: 'cut'; durationMs: number; mode: 'refuse' | 'blackhole' }
  | { at: number; type: 'broker'; downMs: number; signal: 'SIGKILL' | 'SIGTERM' }
  | { at: number; type: 'kill'; downMs: number }
  | { at: number; type: 'disk-full'; durationMs: number }
  | { at: number; type: 'clock'; offsetSeconds: number };

export interface Schedule {
  durationMs: number;
  /** Locks per train and how fast it passes. */
  trainLocks: number;
  speedMps: number;
  /** Wall ms a train needs from its start until its last lock has left the antenna. */
  trainSpanMs: number;
  events: SoakEvent[];
}

export function makeSchedule(minutes: number, seed: number): Schedule {
  const rnd = seededRandom(seed);
  const between = (a: number, b: number) => a + rnd() * (b - a);
  const D = Math.round(minutes * 60_000);
  const trainLocks = minutes < 4 ? 8 : 12;
  const speedMps = 5;
  // Two locks per wagon, 15 m apart, a 60 m radio range at 8 m from the track.
  const dwellMs = ((2 * Math.sqrt(60 * 60 - 8 * 8)) / speedMps) * 1000;
  const trainSpanMs = 2000 + ((trainLocks / 2 - 1) * 15 * 1000) / speedMps + dwellMs;
  const events: SoakEvent[] = [];

  const dfAt = Math.round(D * 0.45);
  const dfDuration = Math.round(Math.min(20_000, Math.max(12_000, D * 0.12)));
  events.push({ at: dfAt, type: 'disk-full', durationMs: dfDuration });

  // Trains: one a minute, none while the disk is full (its reads would be refused and the
  // train gone by the time there is room: that is a loss the daemon cannot prevent).
  let trainIndex = 0;
  for (let at = 2000; at + trainSpanMs + 5000 <= D; ) {
    if (at < dfAt + dfDuration + 6000 && at + trainSpanMs + 3000 > dfAt) {
      at = dfAt + dfDuration + 6000;
      continue;
    }
    const kinds: LockKind[] = Array.from({ length: trainLocks }, () => 'genuine');
    kinds[Math.floor(trainLocks * 0.25)] = 'tampered';
    kinds[Math.floor(trainLocks * 0.6)] = 'cloned';
    if (trainIndex % 2 === 1) kinds[trainLocks - 2] = 'wrong_hash';
    events.push({ at, type: 'train', index: trainIndex++, kinds });
    at += Math.max(trainSpanMs + 4000, 60_000);
  }

  // The inspection bay: a lock every 12-20 s; the first four include each hostile kind.
  const first: LockKind[] = ['genuine', 'cloned', 'tampered', 'wrong_hash'];
  let serialIndex = 0;
  for (let at = 6000; at <= D - 15_000; at += between(12_000, 20_000)) {
    const r = rnd();
    const kind: LockKind =
      serialIndex < first.length
        ? first[serialIndex]!
        : r < 0.7
          ? 'genuine'
          : r < 0.8
            ? 'cloned'
            : r < 0.9
              ? 'wrong_hash'
              : 'tampered';
    events.push({ at: Math.round(at), type: 'serial', index: serialIndex++, kind });
  }
  // One plugged while the disk is full: refused, then stored once there is room again.
  events.push({ at: dfAt + 3000, type: 'serial', index: serialIndex++, kind: 'genuine' });

  for (let at = 15_000; at <= D - 12_000; at += between(25_000, 45_000)) {
    events.push({
      at: Math.round(at),
      type: 'cut',
      durationMs: Math.round(between(3000, 9000)),
      mode: rnd() < 0.3 ? 'blackhole' : 'refuse',
    });
  }
  for (let at = D * 0.3; at <= D - 12_000; at += between(100_000, 160_000)) {
    events.push({
      at: Math.round(at),
      type: 'broker',
      downMs: Math.round(between(1000, 4000)),
      signal: rnd() < 0.67 ? 'SIGKILL' : 'SIGTERM',
    });
  }
  for (let at = D * 0.2; at <= D - 15_000; at += between(50_000, 110_000)) {
    events.push({ at: Math.round(at), type: 'kill', downMs: Math.round(between(500, 2500)) });
  }
  // Wall clock: 45 min ahead, back, and on longer runs 20 min behind and back.
  events.push({ at: Math.round(D * 0.25), type: 'clock', offsetSeconds: 2700 });
  events.push({ at: Math.round(D * 0.6), type: 'clock', offsetSeconds: 0 });
  if (minutes >= 5) {
    events.push({ at: Math.round(D * 0.75), type: 'clock', offsetSeconds: -1200 });
    events.push({ at: Math.round(D * 0.9), type: 'clock', offsetSeconds: 0 });
  }
  events.sort((a, b) => a.at - b.at);
  return { durationMs: D, trainLocks, speedMps, trainSpanMs, events };
}
