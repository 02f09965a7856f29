import t from 'tap';
import { ingestRead } from '../../src/ingest/ingest-read.js';
import { silentLogger } from '../../src/log.js';
import { TrainReader } from '../../src/train/train-reader.js';
import { specsFor, startTrainAndRadio, trainPlans } from '../helpers/ble-train.js';
import { openTestStore } from '../helpers/store.js';
import { testKeys } from '../helpers/test-keys.js';

/**
 * Issue 6 item 5: a train of 55 wagons / 110 locks passes the simulated radio with 5 %
 * packet loss and random disconnects; every manifest is read, verified against the trust
 * store, stored, and identical to the one the lock carries.
 */
t.test('110 locks, 5 % loss, random disconnects: every manifest read, verified, identical', async (t) => {
  const keys = testKeys(t);
  const plans = trainPlans(keys, 110);
  const { store } = openTestStore(t, { trustOnFirstUse: true });
  const trust = keys.trustStore();
  const { radio, train } = await startTrainAndRadio(t, {
    locks: specsFor(plans),
    timeScale: 4,
    seed: 42,
    link: { lossRate: 0.05, disconnectRatePerSecond: 0.05 },
    // 18 km/h: a little faster than a checkpoint crawl, to keep the test short.
    passage: { speedMps: 5 },
    // A lock saving battery: fewer advertising reports to process on a loaded test machine.
    advertisingIntervalMs: 250,
  });
  let mostMoving = 0;
  let manifestEvents = 0;
  const reader: TrainReader = new TrainReader({
    radio,
    gatewayId: 'KZ-DOSTYK-GW01',
    expected: 110,
    maxConcurrent: 5,
    // The reader's default: longer than the 3 s between wagons at 5 m/s. Reader and train
    // share one simulated clock, which stalls when the process is starved (SimClock), so
    // a loaded machine cannot stretch the gap between wagons past it.
    trainQuietMs: 8000,
    clock: train.world.clock,
    onReadProgress: (_address, p) => {
      // Sampled at every step of every read: the reads holding a turn to move manifest bytes
      // (phases alone cannot tell: a read whose link dropped says so only after its turn
      // has passed on).
      mostMoving = Math.max(mostMoving, reader.manifestsMoving);
      if (p.phase === 'manifest') manifestEvents++;
    },
    ingest: (result) => {
      const stored = ingestRead(result, { store, trust, gatewayId: 'KZ-DOSTYK-GW01', log: silentLogger });
      return { verified: stored.manifest?.verification === 'valid' };
    },
  });
  t.teardown(() => reader.stop());
  const done = reader.nextTrain();
  await reader.start();
  const summary = await done;
  t.equal(summary.read, 110, `read ${summary.read}; failed: ${JSON.stringify(summary.failed.slice(0, 5))}`);
  t.equal(summary.verified, 110, 'every manifest verified');
  t.equal(summary.missing, 0);
  t.ok(
    mostMoving >= 1 && mostMoving <= 2,
    `at most two reads moved manifest bytes at once (the default), with five links: ${mostMoving}`,
  );
  t.ok(manifestEvents > 0, 'manifest steps were seen');
  const disconnects = Object.values(radio ? train.radio.emulator.controller.stats.disconnections : {}).length;
  t.comment(
    `disconnections by reason: ${JSON.stringify(train.radio.emulator.controller.stats.disconnections)} (${disconnects} kinds)`,
  );
  let identical = 0;
  for (const lock of reader.board.last[0]!.locks.values()) {
    const plan = plans.find((p) => p.lockId === lock.lockId)!;
    if (lock.result?.manifest?.equals(plan.manifest)) identical++;
  }
  t.equal(identical, 110, "every manifest identical to the lock's");
  t.equal(store.manifests.list({ limit: 500 }).length, 110, '110 manifests in the store');
  const retried = [...reader.board.last[0]!.locks.values()].filter(
    (l) => l.passes > 1 || (l.result?.stats.links ?? 0) > 1,
  );
  t.comment(`${retried.length} locks needed more than one link; summary ${summary.durationMs} simulated ms`);
});
