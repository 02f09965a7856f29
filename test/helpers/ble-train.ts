import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPublicKey } from '../../src/keys/index.js';
import { BleRadio } from '../../src/lock/transport/ble-radio.js';
import {
  type SimulatedTrain,
  type SimulatedTrainOptions,
  startSimulatedTrain,
  type TrainLockSpec,
} from '../../src/sim/ble-train.js';
import { composeTrainManifests, type TrainLockPlan } from '../../src/sim/train-manifests.js';
import { warningsLog } from './log.js';
import { net } from './patience.js';
import { FIXTURE_MANIFESTS_DIR, type TestKeys } from './test-keys.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const plansCache = new Map<number, TrainLockPlan[]>();

/** Signed, encrypted manifests for `count` locks, each naming its own lock, container and wagon. */
export function trainPlans(keys: TestKeys, count: number): TrainLockPlan[] {
  const cached = plansCache.get(count);
  if (cached) return cached;
  const template = JSON.parse(
    readFileSync(join(FIXTURE_MANIFESTS_DIR, 'wheat-kostanay-urumqi.json'), 'utf8'),
  );
  const plans = composeTrainManifests({
    count,
    train: '7001',
    template,
    signer: keys.key('kz-customs-signer-1'),
    recipients: ['kz-customs-recipient-1', 'cn-customs-recipient-1'].map((kid) => {
      const k = loadPublicKey(keys.pubFile(kid));
      return { kid: k.kid, publicKey: k.publicKey };
    }),
  });
  plansCache.set(count, plans);
  return plans;
}

export function specsFor(plans: TrainLockPlan[]): TrainLockSpec[] {
  return plans.map((p) => ({ lockId: p.lockId, manifest: p.manifest, container: p.container }));
}

/** A simulated train and a gateway radio (real noble) listening to it; both closed after the test. */
export async function startTrainAndRadio(
  t: Teardown,
  options: SimulatedTrainOptions,
): Promise<{ train: SimulatedTrain; radio: BleRadio }> {
  const train = await startSimulatedTrain(options);
  const radio = await BleRadio.open({
    bindings: train.bindings,
    clock: train.world.clock,
    connectTimeoutMs: 8000,
    gattTimeoutMs: 4000,
    // noble's power-on is wall time on the host side of the pty: a safety net, not the radio.
    poweredOnTimeoutMs: net(10_000),
  });
  t.teardown(async () => {
    await radio.close();
    await new Promise((r) => setTimeout(r, 20));
    await train.close();
  });
  return { train, radio };
}

/**
 * A radio on `train` (its warnings kept), scanning until it has heard `count` locks; their
 * addresses by lock id. Throws when they are not heard within a generous net.
 */
export async function radioHearing(
  t: Teardown,
  train: SimulatedTrain,
  count: number,
): Promise<{ radio: BleRadio; warnings: string[]; byId: Map<string, string> }> {
  const { log, warnings } = warningsLog();
  const radio = await BleRadio.open({ bindings: train.bindings, clock: train.world.clock, log });
  t.teardown(() => radio.close());
  await radio.startScanning();
  const deadline = Date.now() + net(20_000);
  while (radio.sightings.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const byId = new Map([...radio.sightings.values()].map((s) => [s.advertisement.lockId, s.address]));
  if (byId.size < count) throw new Error(`${count - byId.size} of the ${count} locks were not heard`);
  return { radio, warnings, byId };
}
