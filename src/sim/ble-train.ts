import type { HciBindingsOptions } from '@stoprocent/noble';
import { PROTOCOL_VERSION, SealState } from '../lock/codec/constants.js';
import { type Logger, silentLogger } from '../log.js';
import { lockAdvertising } from './ble/advertising-data.js';
import { ByteStreamApp } from './ble/byte-stream-app.js';
import type { ControllerOptions } from './ble/controller.js';
import { GattDatabase, lockGattServices } from './ble/gatt-db.js';
import { Op } from './ble/hci-constants.js';
import type { LinkParams } from './ble/link-params.js';
import { SimPeripheral, type SimPeripheralOptions } from './ble/peripheral.js';
import type { SimPeripheralApp } from './ble/peripheral-app.js';
import { SimClock } from './ble/sim-clock.js';
import { SimRadio } from './ble/sim-radio.js';
import { type TrainPassage, trainPassage } from './ble/train.js';
import { SimWorld } from './ble/world.js';
import { simulatedLog } from './lock/event-log-builder.js';
import {
  generateLockIdentity,
  LockEngine,
  type LockEngineOptions,
  type LockIdentity,
} from './lock/lock-engine.js';
import { type LockFaults, SimulatedLock } from './lock/simulated-lock.js';

/** One lock of a simulated train and what it carries. */
/** PROTOCOL.md §13.2 (ADV-1): a sealed or tampered lock advertises every 20 ms. */
export const SEALED_ADV_MS = 20;
/** …an unsealed one at 100 ms or faster (SHOULD). */
export const UNSEALED_ADV_MS = 100;

export interface TrainLockSpec {
  lockId: string;
  manifest: Uint8Array;
  /** Container number for the SEALED event. */
  container?: string;
  identity?: LockIdentity;
  faults?: LockFaults;
  engine?: Partial<LockEngineOptions>;
  /** Overrides of the radio model for this lock (hostile devices, a weak antenna). */
  peripheral?: Partial<Omit<SimPeripheralOptions, 'app' | 'address'>>;
  /** Advertise this id instead of the lock's own (an impersonator). */
  advertisedLockId?: string;
  /**
   * The RX value handle the lock announces (PROTOCOL.md §13.5, revision 1.3). Default: the one
   * its GATT table has — none for a lock of revision 1.1 (`faults.lineOnly`). False: none (a
   * lock of revision 1.2); a number: that one, whatever the table (a lock that lies).
   */
  announcedRxHandle?: number | false;
  /** What runs in the peripheral instead of the lock (a hostile device); gets the lock to wrap. */
  app?: (lock: SimulatedLock, world: SimWorld) => SimPeripheralApp;
}

export interface SimulatedTrainOptions {
  locks: readonly TrainLockSpec[];
  /** Simulated seconds per wall second. Default 1. */
  timeScale?: number;
  /**
   * Whether the train waits for the gateway: the simulated clock stays at zero until the host
   * first asks the radio to scan or to connect, as at a checkpoint whose gateway is up before
   * the train comes. Default true: a reader that starts late on a loaded machine (a second
   * process, noble's power-on) then still sees the whole train. False: the train rolls from
   * the simulator's start.
   */
  waitForListener?: boolean;
  seed?: number;
  link?: Partial<LinkParams>;
  controller?: ControllerOptions;
  /** Geometry and speed of the passage; `startMs` is relative to the world's start. */
  passage?: TrainPassage;
  /** Locks per position along the track (two containers per wagon). Default 2. */
  locksPerWagon?: number;
  /**
   * How often each lock advertises. Default what PROTOCOL.md §13.2 asks (ADV-1): 20 ms for a
   * sealed or tampered lock, 100 ms for an unsealed one. How soon a lock is connected at speed
   * depends on it.
   */
  advertisingIntervalMs?: number;
  log?: Logger;
}

export interface SimulatedTrainLock {
  spec: TrainLockSpec;
  address: string;
  identity: LockIdentity;
  lock: SimulatedLock;
  peripheral: SimPeripheral;
}

export interface SimulatedTrain {
  world: SimWorld;
  radio: SimRadio;
  /** What noble's `withBindings('hci', …)` needs to reach the simulated controller. */
  bindings: HciBindingsOptions;
  locks: SimulatedTrainLock[];
  close(): Promise<void>;
}

/** A random static address per lock index (top bits set, as battery devices use). */
export function trainLockAddress(index: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `c0:01:00:${hex((index >> 16) & 0xff)}:${hex((index >> 8) & 0xff)}:${hex(index & 0xff)}`;
}

/**
 * A train of locks rolling past the gateway's simulated radio: each lock runs the lock
 * simulator's protocol engine behind the GATT model (src/sim/ble), advertises what its
 * own state says (seal, event count, manifest hash), comes into range, passes the antenna
 * and leaves. The real noble API reaches it through `bindings`.
 */
export async function startSimulatedTrain(options: SimulatedTrainOptions): Promise<SimulatedTrain> {
  const log = options.log ?? silentLogger;
  const nowSeconds = Math.floor(Date.now() / 1000);
  // Locks first (signing their event logs takes a while): the world's clock starts after.
  const built = options.locks.map((spec) => {
    const identity = spec.identity ?? spec.engine?.identity ?? generateLockIdentity();
    const events = simulatedLog(spec.lockId, identity.secretKey, spec.manifest, 'clean', {
      time: nowSeconds - 7200,
      container: spec.container ?? '',
    });
    const engine = new LockEngine({
      lockId: spec.lockId,
      identity,
      manifest: spec.manifest,
      events,
      ...spec.engine,
    });
    return { spec, identity, engine, lock: new SimulatedLock(engine, spec.faults, log) };
  });
  const waits = options.waitForListener ?? true;
  const world = new SimWorld({
    clock: new SimClock({ timeScale: options.timeScale ?? 1, held: waits }),
    seed: options.seed ?? 1,
    ...(options.link ? { link: options.link } : {}),
    log,
  });
  const start = world.clock.monotonic();
  const perWagon = options.locksPerWagon ?? 2;
  const locks: SimulatedTrainLock[] = built.map(({ spec, identity, engine, lock }, index) => {
    const info = engine.info();
    const rxHandle =
      spec.announcedRxHandle ??
      (spec.faults?.lineOnly
        ? false
        : new GattDatabase(spec.peripheral?.gatt ?? lockGattServices(spec.lockId)).rxHandle);
    const adv = lockAdvertising({
      lockId: spec.advertisedLockId ?? spec.lockId,
      protocolVersion: PROTOCOL_VERSION,
      sealState: info.seal,
      eventCount: info.ecount,
      manifestSha256: info.mhash,
      ...(typeof rxHandle === 'number' ? { rxHandle } : {}),
    });
    // Both containers of a wagon pass the antenna together.
    const passage = trainPassage(Math.floor(index / perWagon), {
      ...options.passage,
      startMs: start + (options.passage?.startMs ?? 0),
    });
    const address = trainLockAddress(index);
    const peripheral = new SimPeripheral({
      address,
      advertisingData: adv.advertisingData,
      scanResponseData: adv.scanResponseData,
      presence: passage.presence,
      rssiDbm: passage.rssiDbm,
      name: spec.lockId,
      advertisingIntervalMs:
        options.advertisingIntervalMs ?? (info.seal === SealState.Unsealed ? UNSEALED_ADV_MS : SEALED_ADV_MS),
      app: spec.app ? spec.app(lock, world) : new ByteStreamApp(lock),
      ...spec.peripheral,
    });
    world.add(peripheral);
    return { spec, address, identity, lock, peripheral };
  });
  const radio = await SimRadio.start({ world, log, ...options.controller });
  if (waits) {
    const controller = radio.emulator.controller;
    const onCommand = (op: number, p: Buffer) => {
      const scans = op === Op.LeSetScanEnable && p[0] === 1;
      if (!scans && op !== Op.LeCreateConnection) return;
      controller.off('command', onCommand);
      world.clock.release();
    };
    controller.on('command', onCommand);
  }
  return {
    world,
    radio,
    bindings: radio.bindingsOptions,
    locks,
    close: () => radio.close(),
  };
}
