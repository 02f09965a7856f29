/**
 * The locks of the soak: what each one is (genuine, hostile, tampered), its event log, and
 * where it is presented — a BLE train rolling past the one simulated radio the daemon keeps
 * open for the whole run, or a serial lock plugged in at the inspection bay.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DemoWorld } from '../../src/demo/demo-world.js';
import { EventKind, PROTOCOL_VERSION } from '../../src/lock/codec/constants.js';
import type { Logger } from '../../src/log.js';
import { lockAdvertising } from '../../src/sim/ble/advertising-data.js';
import { SENSITIVITY_DBM } from '../../src/sim/ble/air-time.js';
import { ByteStreamApp } from '../../src/sim/ble/byte-stream-app.js';
import { SimPeripheral } from '../../src/sim/ble/peripheral.js';
import { passageForAudibleRange, trainPassage } from '../../src/sim/ble/train.js';
import type { SimWorld } from '../../src/sim/ble/world.js';
import { trainLockAddress } from '../../src/sim/ble-train.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine, type LockEngineOptions } from '../../src/sim/lock/lock-engine.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { composeTrainManifests } from '../../src/sim/train-manifests.js';
import { sha256Hex } from '../../src/store/read-input.js';

/** genuine: must reach the exchange once; tampered: genuine manifest plus a tamper alert; cloned / wrong_hash: an alert. */
export type LockKind = 'genuine' | 'tampered' | 'cloned' | 'wrong_hash';

export interface SoakLock {
  lockId: string;
  kind: LockKind;
  transport: 'ble' | 'serial';
  manifest: Buffer;
  manifestId: string;
  container: string;
  /** What the lock engine is built with. */
  engine: Partial<LockEngineOptions> & Pick<LockEngineOptions, 'identity' | 'events'>;
}

const TEMPLATE = JSON.parse(
  readFileSync(new URL('../../fixtures/manifests/wheat-kostanay-urumqi.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** Signed, encrypted manifests and lock engines for `kinds.length` locks named by `lockId(i)`. */
export function makeLocks(
  world: DemoWorld,
  transport: 'ble' | 'serial',
  train: string,
  kinds: LockKind[],
  lockId: (i: number) => string,
  containerBase: number,
): SoakLock[] {
  const plans = composeTrainManifests({
    count: kinds.length,
    train,
    template: { ...TEMPLATE, createdAt: new Date().toISOString() },
    signer: world.signer,
    recipients: world.recipients,
    lockId,
  });
  const now = Math.floor(Date.now() / 1000);
  return plans.map((plan, i) => {
    const kind = kinds[i]!;
    const identity = generateLockIdentity();
    const prefix = Buffer.from(sha256Hex(plan.manifest), 'hex').subarray(0, 8);
    const loading = [
      { kind: EventKind.Commit, time: now - 7200, detail: prefix },
      { kind: EventKind.Sealed, time: now - 7100, detail: Buffer.from(plan.container) },
    ];
    // Opened on the way and sealed again: the lock looks sealed, its own log tells.
    const tampered =
      kind === 'tampered'
        ? [
            { kind: EventKind.Opened, time: now - 3600 },
            { kind: EventKind.Sealed, time: now - 3500, detail: Buffer.from(plan.container) },
          ]
        : [];
    const events = appendEvents(plan.lockId, identity.secretKey, [], [...loading, ...tampered]);
    return {
      lockId: plan.lockId,
      kind,
      transport,
      manifest: plan.manifest,
      manifestId: sha256Hex(plan.manifest),
      container: `${containerBase + i}`,
      engine: {
        identity,
        events,
        ...(kind === 'cloned' ? { signingKeyOverride: generateLockIdentity().secretKey } : {}),
        ...(kind === 'wrong_hash' ? { announcedHashOverride: randomBytes(32) } : {}),
      },
    };
  });
}

let nextAddress = 1;

/**
 * Adds a train to the running world: its locks come into range `startInMs` from now (world
 * time), two per wagon, and leave again. Returns the simulated time the last one leaves.
 */
export function addTrain(
  world: SimWorld,
  locks: SoakLock[],
  options: { startInMs: number; speedMps: number; log?: Logger },
): number {
  const start = world.clock.monotonic() + options.startInMs;
  let lastLeave = start;
  const peripherals = locks.map((spec, index) => {
    const engine = new LockEngine({ lockId: spec.lockId, manifest: spec.manifest, ...spec.engine });
    const lock = new SimulatedLock(engine, undefined, options.log);
    const info = engine.info();
    const adv = lockAdvertising({
      lockId: spec.lockId,
      protocolVersion: PROTOCOL_VERSION,
      sealState: info.seal,
      eventCount: info.ecount,
      manifestSha256: info.mhash,
    });
    // Heard to 60 m (a gateway antenna with gain), as the schedule's dwell assumes: the soak is
    // about faults of the process, the network and the disk, not the edge of radio range.
    const passage = trainPassage(Math.floor(index / 2), {
      startMs: start,
      speedMps: options.speedMps,
      ...passageForAudibleRange(60, SENSITIVITY_DBM['1m']),
    });
    lastLeave = Math.max(lastLeave, passage.presence.arriveAtMs + passage.presence.dwellMs);
    return new SimPeripheral({
      address: trainLockAddress(nextAddress++),
      advertisingData: adv.advertisingData,
      scanResponseData: adv.scanResponseData,
      presence: passage.presence,
      rssiDbm: passage.rssiDbm,
      name: spec.lockId,
      // Slower than PROTOCOL.md §13.2's 20 ms (ADV-1): the soak is about the process, the network and
      // the disk, and five times the advertising reports would only load the host it shares.
      advertisingIntervalMs: 100,
      app: new ByteStreamApp(lock),
    });
  });
  world.add(...peripherals);
  return lastLeave;
}
