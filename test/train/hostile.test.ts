import t from 'tap';
import { disconnectingApp, FloodApp } from '../../src/sim/ble/apps.js';
import { ByteStreamApp } from '../../src/sim/ble/byte-stream-app.js';
import type { TrainLockSpec } from '../../src/sim/ble-train.js';
import { generateLockIdentity } from '../../src/sim/lock/lock-engine.js';
import { TrainReader } from '../../src/train/train-reader.js';
import { specsFor, startTrainAndRadio, trainPlans } from '../helpers/ble-train.js';
import { testKeys } from '../helpers/test-keys.js';

/**
 * Hostile peripherals among genuine locks (issue 6 item 4): each ends in a typed error,
 * memory stays bounded, and the genuine locks of the train are still read.
 */
t.test('hostile devices fail with typed errors while the rest of the train is read', async (t) => {
  const keys = testKeys(t);
  const genuine = specsFor(trainPlans(keys, 4)).map((s) => ({ ...s, identity: generateLockIdentity() }));
  const victim = genuine[0]!;
  const hostile: (TrainLockSpec & { expect: string[] })[] = [
    {
      lockId: 'SSL-XX-000901',
      manifest: victim.manifest,
      peripheral: { att: 'silent' },
      expect: ['E_BLE_GATT'],
    },
    {
      lockId: 'SSL-XX-000902',
      manifest: victim.manifest,
      app: () => new FloodApp(),
      expect: ['E_LINE_TOO_LONG', 'E_LOCK_PROTOCOL'],
    },
    {
      lockId: 'SSL-XX-000903',
      manifest: victim.manifest,
      engine: { announcedSizeOverride: 0x7fffffff },
      expect: ['E_LOCK_OVERSIZE'],
    },
    {
      lockId: 'SSL-XX-000904',
      manifest: Buffer.alloc(24 * 1024, 7),
      app: (lock, world) => disconnectingApp(new ByteStreamApp(lock), world.clock, 150),
      expect: ['E_LOCK_DISCONNECTED', 'E_LOCK_TIMEOUT'],
    },
    // Claims the victim's lock id, with its own key: the pinned key exposes it.
    { lockId: victim.lockId, manifest: victim.manifest, expect: ['E_LOCK_CLONED'] },
    // Advertises the victim's id but answers as itself.
    {
      lockId: 'SSL-XX-000906',
      advertisedLockId: genuine[1]!.lockId,
      manifest: victim.manifest,
      expect: ['E_LOCK_IMPERSONATION'],
    },
  ];
  // A standing train: every device stays in range for as long as its reads take, so each
  // pass ends for what the device does, never because a loaded machine let it roll out of
  // range first (a flooding lock's last pass then ended E_LOCK_DISCONNECTED or E_BLE_CONNECT).
  const standing = (spec: TrainLockSpec): TrainLockSpec => ({
    ...spec,
    peripheral: { presence: {}, rssiDbm: -60, ...spec.peripheral },
  });
  const { radio, train } = await startTrainAndRadio(t, {
    locks: [...genuine, ...hostile].map(standing),
    timeScale: 4,
  });
  const pinned = new Map(genuine.map((g) => [g.lockId, Buffer.from(g.identity.publicKey)]));
  const reader = new TrainReader({
    radio,
    gatewayId: 'GW',
    maxConcurrent: 4,
    passesPerLock: 2,
    backoffBaseMs: 200,
    trainQuietMs: 4000,
    clock: train.world.clock,
    pinnedKeyFor: (id) => pinned.get(id),
  });
  t.teardown(() => reader.stop());
  const rssBefore = process.memoryUsage().rss;
  const done = reader.nextTrain();
  await reader.start();
  const summary = await done;
  const byAddress = reader.board.last[0]!.locks;
  for (const [i, spec] of genuine.entries()) {
    const lock = byAddress.get(train.locks[i]!.address);
    t.equal(lock?.state, 'read', `genuine ${spec.lockId} read`);
    t.ok(lock?.result?.manifest?.equals(spec.manifest), `genuine ${spec.lockId} manifest identical`);
  }
  for (const [j, spec] of hostile.entries()) {
    const lock = byAddress.get(train.locks[genuine.length + j]!.address);
    t.equal(lock?.state, 'failed', `hostile ${spec.lockId} (${j}) failed`);
    t.ok(
      spec.expect.includes(lock?.error?.code ?? ''),
      `hostile ${j}: ${lock?.error?.code} is one of ${spec.expect} (${lock?.passes} passes: ${lock?.error?.message})`,
    );
  }
  t.equal(summary.read, genuine.length);
  t.equal(summary.failed.length, hostile.length);
  t.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, 'memory stayed bounded');
});
