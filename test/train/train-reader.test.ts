import t from 'tap';
import { TrainReader } from '../../src/train/train-reader.js';
import { specsFor, startTrainAndRadio, trainPlans } from '../helpers/ble-train.js';
import { testKeys } from '../helpers/test-keys.js';

t.test('a short train: every lock read over the simulated radio, manifests identical', async (t) => {
  const keys = testKeys(t);
  const plans = trainPlans(keys, 6);
  const { train, radio } = await startTrainAndRadio(t, {
    locks: specsFor(plans),
    timeScale: 4,
    passage: { speedMps: 10 },
  });
  const reader = new TrainReader({
    radio,
    gatewayId: 'KZ-DOSTYK-GW01',
    expected: 6,
    maxConcurrent: 3,
    trainQuietMs: 3000,
    clock: train.world.clock,
  });
  t.teardown(() => reader.stop());
  const done = reader.nextTrain();
  await reader.start();
  const summary = await done;
  t.equal(summary.read, 6, JSON.stringify(summary.failed));
  t.equal(summary.missing, 0);
  for (const lock of reader.board.last[0]!.locks.values()) {
    const plan = plans.find((p) => p.lockId === lock.lockId)!;
    t.ok(lock.result?.manifest?.equals(plan.manifest), `${lock.lockId} manifest identical`);
  }
});
