import t from 'tap';
import type { LockSighting } from '../../src/lock/transport/ble-radio.js';
import { lockAdvertising } from '../../src/sim/ble/advertising-data.js';
import { TrainReader } from '../../src/train/train-reader.js';
import { specsFor, startTrainAndRadio, trainPlans } from '../helpers/ble-train.js';
import { testKeys } from '../helpers/test-keys.js';

/**
 * A lock read before with the same manifest and event log is skipped without connecting;
 * one whose advertisement changed (a new event, a new manifest) is read again.
 */
t.test('unchanged locks are skipped, a changed one is read again', async (t) => {
  const keys = testKeys(t);
  // A stationary train: every lock in range for the whole test.
  const specs = specsFor(trainPlans(keys, 4)).map((s) => ({
    ...s,
    peripheral: { presence: {}, rssiDbm: -60 },
  }));
  const { radio, train } = await startTrainAndRadio(t, { locks: specs, timeScale: 2 });
  const seen = new Map<string, string>();
  const fingerprint = (s: LockSighting) =>
    `${s.advertisement.manifestHashPrefix.toString('hex')}/${s.advertisement.eventCount}/${s.advertisement.sealState}`;
  const pass = async () => {
    const reader = new TrainReader({
      radio,
      gatewayId: 'GW',
      trainQuietMs: 1500,
      clock: train.world.clock,
      isUnchanged: (s) => seen.get(s.advertisement.lockId) === fingerprint(s),
      ingest: (result, s) => {
        if (result.outcome === 'complete') seen.set(s.advertisement.lockId, fingerprint(s));
        return undefined;
      },
    });
    const done = reader.nextTrain();
    await reader.start();
    const summary = await done;
    await reader.stop();
    return summary;
  };

  const first = await pass();
  t.equal(first.read, 4, 'first pass reads every lock');
  t.equal(first.skipped, 0);
  const connectionsAfterFirst = train.radio.emulator.controller.stats.connections;

  const second = await pass();
  t.equal(second.read, 0, 'second pass reads nothing');
  t.equal(second.skipped, 4, 'every lock skipped as unchanged');
  t.equal(
    train.radio.emulator.controller.stats.connections,
    connectionsAfterFirst,
    'without connecting to any',
  );

  // Lock 2 records a new event: its advertised event count changes.
  const changed = train.locks[2]!;
  const info = changed.lock.engine.info();
  const adv = lockAdvertising({
    lockId: changed.spec.lockId,
    protocolVersion: 1,
    sealState: info.seal,
    eventCount: info.ecount + 1,
    manifestSha256: info.mhash,
  });
  changed.peripheral.setAdvertising(adv.advertisingData, adv.scanResponseData);
  const third = await pass();
  t.equal(third.read, 1, 'only the changed lock is read again');
  t.equal(third.skipped, 3);
  t.same(third.failed, [], 'nothing failed');
});
