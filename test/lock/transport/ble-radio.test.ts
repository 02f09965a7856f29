import t, { type Test } from 'tap';
import type { BleRadio } from '../../../src/lock/transport/ble-radio.js';
import { Op } from '../../../src/sim/ble/hci-constants.js';
import { type SimulatedTrain, startSimulatedTrain } from '../../../src/sim/ble-train.js';
import { radioHearing } from '../../helpers/ble-train.js';

/**
 * Scanning while a connection attempt is under way (issue 17: a reader that never goes
 * blind). noble stops scanning to connect; the radio scans again behind the connection
 * request where the controller can, and a controller that cannot is asked once.
 *
 * Lock A answers only when the test lets it (its signal drops below any receiver's
 * sensitivity meanwhile, so the attempt stays pending); lock B is forgotten by the radio
 * once the attempt is under way, so hearing it again is a new sighting — heard during the
 * attempt or not.
 */
async function setup(t: Test, scanWhileInitiating: boolean) {
  let aReachable = true;
  const train = await startSimulatedTrain({
    locks: [
      {
        lockId: 'SSL-KZ-SCAN-A',
        manifest: Buffer.alloc(1),
        peripheral: { presence: {}, rssiDbm: () => (aReachable ? -55 : -140), rssiNoiseDb: 0 },
      },
      { lockId: 'SSL-KZ-SCAN-B', manifest: Buffer.alloc(1), peripheral: { presence: {}, rssiDbm: -60 } },
    ],
    controller: { scanWhileInitiating },
  });
  t.teardown(() => train.close());
  const { radio, warnings, byId } = await radioHearing(t, train, 2);
  const a = byId.get('SSL-KZ-SCAN-A');
  const b = byId.get('SSL-KZ-SCAN-B');
  if (!a || !b) throw new Error('the two locks were not heard');
  return {
    train,
    radio,
    a,
    b,
    warnings,
    setReachable: (v: boolean) => {
      aReachable = v;
    },
  };
}

/**
 * Resolves when the controller receives an LE Create Connection. The host sends it only after
 * the completion of the reset noble sends first, which follows every advertising report of
 * the scan before: a lock forgotten from then on and heard again was heard during the attempt.
 */
function connectionRequested(train: SimulatedTrain): () => Promise<boolean> {
  const controller = train.radio.emulator.controller;
  let requested = false;
  const on = (op: number) => {
    if (op !== Op.LeCreateConnection) return;
    controller.off('command', on);
    requested = true;
  };
  controller.on('command', on);
  // A minute of simulated time is a net: the request follows open() at once.
  return async () => {
    const until = train.world.clock.monotonic() + 60_000;
    while (!requested && train.world.clock.monotonic() < until) await new Promise((r) => setTimeout(r, 5));
    return requested;
  };
}

/** Resolves when the radio reports a sighting of `address`. */
function sightingOf(radio: BleRadio, address: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (s: { address: string }) => {
      if (s.address !== address) return;
      radio.off('sighting', on);
      resolve();
    };
    radio.on('sighting', on);
  });
}

t.test(
  'a controller that scans while it initiates: locks are heard during a connection attempt',
  async (t) => {
    const { train, radio, a, b, warnings, setReachable } = await setup(t, true);
    setReachable(false);
    const requested = connectionRequested(train);
    let settled = false;
    const opening = radio.open(a, { connectTimeoutMs: 600_000 }).finally(() => {
      settled = true;
    });
    t.ok(await requested(), 'the controller received the LE Create Connection');
    radio.forget(b);
    let heard = false;
    void sightingOf(radio, b).then(() => {
      heard = true;
    });
    // B (sealed) advertises every 20–30 ms; a minute of simulated time is a net, not an expectation.
    const clock = train.world.clock;
    const until = clock.monotonic() + 60_000;
    while (!heard && clock.monotonic() < until) await new Promise((r) => setTimeout(r, 20));
    t.ok(heard, 'lock B was heard during the attempt');
    t.notOk(settled, 'the attempt to lock A was still pending then');
    setReachable(true);
    const link = await opening;
    t.equal(link.endpoint, a, 'the attempt then connected');
    await link.close();
    t.same(warnings, [], 'no warning');
  },
);

t.test(
  'a controller that cannot: the refusal is seen once, the radio connects and scans afterwards',
  async (t) => {
    const { train, radio, a, b, warnings, setReachable } = await setup(t, false);
    setReachable(false);
    const requested = connectionRequested(train);
    const listenedBefore = radio.listenedMs();
    const opening = radio.open(a, { connectTimeoutMs: 600_000 });
    t.ok(await requested(), 'the controller received the LE Create Connection');
    radio.forget(b);
    let heard = false;
    const heardB = sightingOf(radio, b).then(() => {
      heard = true;
    });
    // A second of simulated time with the attempt pending: nothing can be heard.
    const clock = train.world.clock;
    const until = clock.monotonic() + 1000;
    while (clock.monotonic() < until) await new Promise((r) => setTimeout(r, 20));
    t.notOk(heard, 'lock B was not heard while the radio was connecting');
    t.ok(radio.listenedMs() - listenedBefore < 1000, 'the radio did not count the attempt as listening');
    setReachable(true);
    const link = await opening;
    t.equal(link.endpoint, a, 'the attempt connected');
    await heardB;
    t.pass('lock B was heard once the attempt was over');
    t.equal(warnings.filter((w) => w.includes('cannot scan while it connects')).length, 1, 'one warning');
    // The next attempt does not ask again.
    await link.close();
    const second = await radio.open(a, { connectTimeoutMs: 600_000 });
    await second.close();
    t.equal(
      warnings.filter((w) => w.includes('cannot scan while it connects')).length,
      1,
      'still one warning',
    );
    t.equal(
      train.radio.emulator.controller.stats.connections,
      2,
      'both connections made despite the refused scans',
    );
  },
);

t.test("the radio scans continuously with a long interval, not noble's 11.25 ms", async (t) => {
  const train = await startSimulatedTrain({
    locks: [
      { lockId: 'SSL-KZ-SCAN-C', manifest: Buffer.alloc(1), peripheral: { presence: {}, rssiDbm: -60 } },
    ],
  });
  t.teardown(() => train.close());
  const parameters: { interval: number; window: number }[] = [];
  train.radio.emulator.controller.on('command', (op: number, p: Buffer) => {
    if (op === Op.LeSetScanParameters)
      parameters.push({ interval: p.readUInt16LE(1), window: p.readUInt16LE(3) });
  });
  const { radio } = await radioHearing(t, train, 1);
  t.ok(parameters.length > 0, 'LE Set Scan Parameters was sent');
  // 1000 ms in 0.625 ms units; the window as long, so the scan is continuous.
  t.same(parameters.at(-1), { interval: 1600, window: 1600 });
  t.ok(radio.sightings.size === 1, 'and the lock was heard');
});

t.test(
  'both ways of connecting ask for a 10 ms connection interval, and a lock without a preference gets it',
  async (t) => {
    const train = await startSimulatedTrain({
      locks: ['SSL-KZ-CI-0001', 'SSL-KZ-CI-0002'].map((lockId) => ({
        lockId,
        manifest: Buffer.alloc(1),
        peripheral: { presence: {}, rssiDbm: -60 },
      })),
    });
    t.teardown(() => train.close());
    const asked: { filterPolicy: number; min: number; max: number }[] = [];
    const controller = train.radio.emulator.controller;
    controller.on('command', (op: number, p: Buffer) => {
      if (op === Op.LeCreateConnection)
        asked.push({ filterPolicy: p[4]!, min: p.readUInt16LE(13), max: p.readUInt16LE(15) });
    });
    const intervals: number[] = [];
    controller.on('connect', (info: { intervalMs: number }) => intervals.push(info.intervalMs));
    const { radio, byId } = await radioHearing(t, train, 2);
    const named = await radio.open(byId.get('SSL-KZ-CI-0001')!, { connectTimeoutMs: 600_000 });
    await named.close();
    const { link } = await radio.openFirst([byId.get('SSL-KZ-CI-0002')!], { connectTimeoutMs: 600_000 });
    await (await link).close();
    // 10 ms in 1.25 ms units, minimum and maximum alike: noble alone would ask 6–18 (7.5–22.5 ms).
    t.same(
      asked.map((a) => [a.filterPolicy, a.min, a.max]),
      [
        [0, 8, 8],
        [1, 8, 8],
      ],
      'noble with the named lock, then the Filter Accept List initiator',
    );
    t.same(intervals, [10, 10], 'each link in force at 10 ms');
  },
);
