import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../src/clock.js';
import { BleRadio } from '../../../src/lock/transport/ble-radio.js';
import type { ScannerShare } from '../../../src/sim/ble/shared-air.js';
import { type SimulatedTrain, startSimulatedTrain } from '../../../src/sim/ble-train.js';
import type { TrainSummary } from '../../../src/train/train-board.js';
import type { TrainReader } from '../../../src/train/train-reader.js';

/**
 * The train of `npm run bench -- train-speed` at one speed (110 locks, 16 KiB manifests, 5 %
 * loss, 0.05 disconnects/s, a controller with 8 connections, seed 17, time scale 4) and a
 * radio listening to it on the world's clock, for the scripts that trace where its time goes;
 * `scannerShare` as the bench's `--scanner-share`; `scanIntervalMs` the radio's (default its own).
 */
export async function speedTrain(
  kmh: number,
  scannerShare: ScannerShare = 'preempt',
  scanIntervalMs?: number,
): Promise<{ train: SimulatedTrain; clock: Clock; radio: BleRadio }> {
  const locks = Array.from({ length: 110 }, (_, i) => ({
    lockId: `SSL-SPEED-${String(i + 1).padStart(4, '0')}`,
    manifest: randomBytes(16 * 1024),
  }));
  const train = await startSimulatedTrain({
    locks,
    link: { lossRate: 0.05, disconnectRatePerSecond: 0.05 },
    timeScale: 4,
    seed: 17,
    controller: { maxConnections: 8, scannerShare },
    passage: { speedMps: kmh / 3.6 },
  });
  const clock = train.world.clock;
  return {
    train,
    clock,
    radio: await BleRadio.open({
      bindings: train.bindings,
      clock,
      ...(scanIntervalMs ? { scanIntervalMs } : {}),
    }),
  };
}

/** What the radio tells of each connection attempt, on the clock. */
export interface AttemptWatch {
  /** The reader asked for a link to `address` (the attempt may still be given up). */
  asked?(address: string): void;
  /** The attempt to `address` went out (the reader did not give it up first). */
  out?(address: string, at: number): void;
  /** It is over: connected or not. */
  over?(address: string, connected: boolean, at: number): void;
  /** An attempt from the Filter Accept List connected none of the locks listed. */
  unanswered?(listed: number): void;
}

/**
 * Wraps `radio.open` and `radio.openFirst` so that `watch` hears of every connection attempt
 * the reader makes; an attempt from the Filter Accept List is told as one to the lock that
 * connected, and those that connected none are counted in `watch.unanswered`.
 */
export function watchAttempts(radio: BleRadio, clock: Clock, watch: AttemptWatch): void {
  const open = radio.open.bind(radio);
  radio.open = (address, options = {}) => {
    watch.asked?.(address);
    return open(address, {
      ...options,
      onTurn: () => {
        // The reader may give the attempt up here (the lock unheard, or leaving): it never goes out.
        const turn = options.onTurn ? options.onTurn() : { connectTimeoutMs: options.connectTimeoutMs };
        watch.out?.(address, clock.monotonic());
        return turn;
      },
      onAttemptOver: (connected) => {
        watch.over?.(address, connected, clock.monotonic());
        options.onAttemptOver?.(connected);
      },
    });
  };
  const openFirst = radio.openFirst.bind(radio);
  radio.openFirst = (addresses, options) => {
    const outAt = clock.monotonic();
    return openFirst(addresses, {
      ...options,
      onAttemptOver: (address) => {
        if (address) {
          watch.asked?.(address);
          watch.out?.(address, outAt);
          watch.over?.(address, true, clock.monotonic());
        } else {
          watch.unanswered?.(addresses.length);
        }
        options.onAttemptOver?.(address);
      },
    });
  };
}

/** Lets `reader` read the train as it passes, then closes reader, radio and train. */
export async function readPassingTrain(
  reader: TrainReader,
  radio: BleRadio,
  train: SimulatedTrain,
): Promise<TrainSummary> {
  const done = reader.nextTrain();
  await reader.start();
  const summary = await done;
  await reader.stop();
  await radio.close();
  await train.close();
  return summary;
}
