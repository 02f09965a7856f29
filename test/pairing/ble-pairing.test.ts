import path from 'node:path';
import t from 'tap';
import { ingestRead } from '../../src/ingest/ingest-read.js';
import { EventKind, MessageType, SealState } from '../../src/lock/codec/constants.js';
import { readLock } from '../../src/lock/reader.js';
import { silentLogger } from '../../src/log.js';
import { bleLockOpener, pairLock, preparePairing } from '../../src/pairing/index.js';
import { startSimulatedTrain, type TrainLockSpec } from '../../src/sim/ble-train.js';
import type { LockFaults } from '../../src/sim/lock/simulated-lock.js';
import { startTrainAndRadio } from '../helpers/ble-train.js';
import { fixtureBytes, PAIRING_FIXTURES, testCarrier, writeCarrierKey } from '../helpers/carrier.js';
import { runCli } from '../helpers/cli.js';
import { openTestStore, tempDir } from '../helpers/store.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

/**
 * Pairing over Bluetooth LE: the lock simulator behind the GATT model of the simulated
 * radio (src/sim/ble), reached by noble's real HCI/ATT/GATT code over a pty — the path a
 * loading-yard gateway's own radio takes.
 */

const carrier = testCarrier('cn-carrier-crexpress-2');
const f = PAIRING_FIXTURES.electronics;

/** A lock standing by the gateway at the loading track (not passing on a train). */
function loadingLock(faults?: LockFaults): TrainLockSpec {
  return {
    lockId: f.lockId,
    manifest: Buffer.from('previous journey'),
    engine: { events: [], sealState: SealState.Unsealed, carrierKeys: [carrier.provisioned] },
    peripheral: { presence: { arriveAtMs: 0 }, rssiDbm: -55 },
    ...(faults ? { faults } : {}),
  };
}

t.test(
  'pair over BLE, then a checkpoint read over BLE gives the same manifest and a valid chain',
  async (t) => {
    const keys = testKeys(t);
    const trust = keys.trustStore();
    const { train, radio } = await startTrainAndRadio(t, { locks: [loadingLock()] });
    const open = await bleLockOpener(radio, f.lockId, { timeoutMs: 10_000 });
    const manifest = preparePairing({
      manifest: fixtureBytes(f),
      container: f.container,
      wagon: f.wagon,
      trust,
    });
    const result = await pairLock({
      open,
      gatewayId: 'CN-KHORGOS-LOADING',
      manifest,
      container: f.container,
      carrier: carrier.carrier,
      log: silentLogger,
    });
    t.equal(result.readBack.transport, 'ble');
    t.same(result.findings, []);
    const engine = train.locks[0]!.lock.engine;
    t.same(Buffer.from(engine.manifest), fixtureBytes(f));
    t.same(
      engine.events.map((e) => e.kind),
      [EventKind.Write, EventKind.Commit, EventKind.Sealed],
    );

    const border = openTestStore(t, { trustOnFirstUse: true });
    const read = await readLock({ open, gatewayId: 'KZ-ALTYNKOL-GW01' });
    t.equal(read.outcome, 'complete', read.error?.message ?? 'read back');
    t.same(read.manifest, fixtureBytes(f), 'the same bytes at the checkpoint');
    t.same(read.chainProblems, []);
    const ingest = ingestRead(read, {
      store: border.store,
      trust,
      gatewayId: 'KZ-ALTYNKOL-GW01',
      log: silentLogger,
    });
    t.equal(ingest.manifest?.verification, 'valid');
    t.same(ingest.alerts, []);
  },
);

t.test('a BLE disconnect in the middle of the WRITEs: the pairing resumes on a new connection', async (t) => {
  const keys = testKeys(t);
  const { train, radio } = await startTrainAndRadio(t, {
    locks: [loadingLock({ dropLinkAfter: { after: 2, types: [MessageType.Write] } })],
  });
  const engine = train.locks[0]!.lock.engine;
  const result = await pairLock({
    open: await bleLockOpener(radio, f.lockId, { timeoutMs: 10_000 }),
    gatewayId: 'CN-KHORGOS-LOADING',
    manifest: preparePairing({
      manifest: fixtureBytes(f),
      container: f.container,
      wagon: f.wagon,
      trust: keys.trustStore(),
    }),
    container: f.container,
    carrier: carrier.carrier,
    backoffBaseMs: 50,
    log: silentLogger,
  });
  t.ok(result.links >= 2, `${result.links} connections`);
  t.ok(result.steps.resumedFrom[0]! > 0, `resumed at ${result.steps.resumedFrom}`);
  t.same(Buffer.from(engine.manifest), fixtureBytes(f));
  t.equal(engine.info().seal, SealState.Sealed);
});

t.test('ctop-agent pair --ble finds the lock by its advertisement and pairs it', async (t) => {
  const keys = testKeys(t);
  const dir = tempDir(t, 'ctop-pair-ble-');
  const train = await startSimulatedTrain({ locks: [loadingLock()] });
  t.teardown(() => train.close());
  const port = (train.bindings as { bindParams: { uart: { port: string } } }).bindParams.uart.port;
  const result = await runCli([
    'pair',
    '--ble',
    f.lockId,
    '--hci-uart',
    port,
    '--container',
    f.container,
    '--wagon',
    f.wagon,
    '--manifest',
    path.join(FIXTURE_MANIFESTS_DIR, f.file),
    '--trust',
    keys.trustStoreFile,
    '--carrier-key',
    writeCarrierKey(dir, carrier),
    '--db',
    path.join(dir, 'agent.db'),
    '--json',
  ]);
  t.equal(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout);
  t.match(json, {
    lockId: f.lockId,
    container: f.container,
    duplicate: false,
    steps: { committed: true, sealed: true },
  });
  t.same(Buffer.from(train.locks[0]!.lock.engine.manifest), fixtureBytes(f));
});
