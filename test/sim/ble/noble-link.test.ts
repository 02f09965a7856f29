import { randomBytes } from 'node:crypto';
import type { Peripheral } from '@stoprocent/noble';
import t, { type Test } from 'tap';
import { echoApp, FloodApp } from '../../../src/sim/ble/apps.js';
import { linkGoodput } from '../../../src/sim/ble/link-params.js';
import { discover, echoThrough, lockPeripheral, openLockLink, startRadio } from './fixtures.js';

async function timedEcho(
  t: Test,
  options: { lossRate?: number; timeScale?: number; size: number; seed?: number },
): Promise<{ simMs: number; wallMs: number; intact: boolean; lost: number; delivered: number }> {
  const { world, radio, noble } = await startRadio(t, {
    seed: options.seed ?? 1,
    timeScale: options.timeScale ?? 1,
    link: { connectionIntervalMs: 15, packetsPerInterval: 4, lossRate: options.lossRate ?? 0 },
  });
  world.add(lockPeripheral(1, { app: echoApp() }));
  const [p] = (await discover(noble, 1)) as [Peripheral];
  const link = await openLockLink(p);
  const data = randomBytes(options.size);
  const sim0 = world.clock.monotonic();
  const wall0 = performance.now();
  const echoed = await echoThrough(p, link, data);
  const simMs = world.clock.monotonic() - sim0;
  const wallMs = performance.now() - wall0;
  const { pdusLost, pdusDelivered } = radio.emulator.controller.connections[0]!.stats;
  await p.disconnectAsync();
  return { simMs, wallMs, intact: echoed.equals(data), lost: pdusLost, delivered: pdusDelivered };
}

t.test('packet loss slows a 64 KiB echo but never corrupts it', async (t) => {
  // At time scale 1: the host's writes are then far from what noble's UART driver can push.
  const clean = await timedEcho(t, { size: 64 * 1024 });
  const lossy = await timedEcho(t, { size: 64 * 1024, lossRate: 0.3, seed: 7 });
  t.ok(clean.intact, 'lossless echo intact');
  t.ok(lossy.intact, '30% LL loss: echo intact');
  t.equal(clean.lost, 0);
  // Theory: 1 / (1 - 0.3) = 1.43 transmissions per PDU. Counted, so it holds on a busy machine.
  const attempts = (lossy.lost + lossy.delivered) / lossy.delivered;
  t.ok(Math.abs(attempts - 1 / 0.7) < 0.08, `${attempts.toFixed(2)} transmissions per delivered PDU`);
  // The air time those transmissions need (both directions in parallel, 4 per 15 ms event)
  // bounds the transfer from below; wall-clock comparisons would measure the machine's load.
  const airMs = (r: { lost: number; delivered: number }) => ((r.lost + r.delivered) / 8 - 1) * 15;
  t.ok(
    airMs(lossy) / airMs(clean) > 1.3,
    `loss needs ${(airMs(lossy) / airMs(clean)).toFixed(2)}x the air time`,
  );
  t.ok(
    lossy.simMs >= airMs(lossy),
    `the lossy transfer took ${lossy.simMs.toFixed(0)} ms ≥ ${airMs(lossy).toFixed(0)} ms of air`,
  );
});

/** Simulated and wall ms to receive `size` bytes of notifications from a flooding lock. */
async function timedFlood(
  t: Test,
  timeScale: number,
  size: number,
): Promise<{ simMs: number; wallMs: number }> {
  const { world, noble } = await startRadio(t, {
    timeScale,
    link: { connectionIntervalMs: 15, packetsPerInterval: 4 },
  });
  world.add(lockPeripheral(1, { app: new FloodApp() }));
  const [p] = (await discover(noble, 1)) as [Peripheral];
  const { tx } = await openLockLink(p);
  let sim0 = 0;
  let wall0 = 0;
  let bytes = 0;
  await new Promise<void>((resolve) => {
    tx.on('data', (d: Buffer) => {
      // Timing starts at the first notification, after connection set-up.
      if (bytes === 0) {
        sim0 = world.clock.monotonic();
        wall0 = performance.now();
      }
      bytes += d.length;
      if (bytes >= size) resolve();
    });
  });
  const result = { simMs: world.clock.monotonic() - sim0, wallMs: performance.now() - wall0 };
  await p.disconnectAsync();
  return result;
}

t.test('the time scale runs the same transfer faster in wall time, alike in simulated time', async (t) => {
  // ×4 stays well inside what the radio and noble sustain on a loaded CI machine.
  const real = await timedFlood(t, 1, 48 * 1024);
  const fast = await timedFlood(t, 4, 48 * 1024);
  const simRatio = fast.simMs / real.simMs;
  t.ok(
    simRatio > 0.8 && simRatio < 1.5,
    `simulated durations alike (${real.simMs.toFixed(0)} vs ${fast.simMs.toFixed(0)} ms)`,
  );
  const wallRatio = real.wallMs / fast.wallMs;
  t.ok(wallRatio > 2, `wall time ${wallRatio.toFixed(1)}x shorter at 4x`);
});

t.test('notification throughput matches the theoretical goodput of the link', async (t) => {
  const link = { connectionIntervalMs: 15, packetsPerInterval: 3, lossRate: 0.1 };
  const { world, radio, noble } = await startRadio(t, { seed: 3, link });
  const flood = new FloodApp();
  world.add(lockPeripheral(1, { app: flood }));
  const [p] = (await discover(noble, 1)) as [Peripheral];
  const { tx } = await openLockLink(p);
  let bytes = 0;
  let start = 0;
  tx.on('data', (d: Buffer) => {
    if (start === 0) start = world.clock.monotonic();
    else bytes += d.length;
  });
  await world.clock.sleep(3000);
  const measured = (bytes * 1000) / (world.clock.monotonic() - start);
  const info = radio.emulator.controller.connections[0]!;
  const theory = linkGoodput(link, { attMtu: info.mtu, llOctets: info.llOctets, connectionIntervalMs: 15 });
  t.equal(info.goodputToCentral, theory, 'connection info reports the same figure');
  t.ok(
    measured / theory > 0.85 && measured / theory < 1.1,
    `measured ${measured.toFixed(0)} B/s vs theoretical ${theory.toFixed(0)} B/s`,
  );
  t.ok(info.stats.pdusLost > 0, 'some PDUs were lost and repeated');
  await p.disconnectAsync();
  t.ok(flood.notified >= bytes, 'every byte received was notified once');
});

t.test(
  'random link failures surface as noble disconnects with reason 0x08 after the supervision timeout',
  async (t) => {
    const { world, noble } = await startRadio(t, {
      seed: 12,
      timeScale: 4,
      link: { disconnectRatePerSecond: 0.5, supervisionTimeoutMs: 1000 },
    });
    world.add(lockPeripheral(1, { app: echoApp() }));
    const [p] = (await discover(noble, 1)) as [Peripheral];
    const reasons: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      await p.connectAsync();
      const connectedAt = world.clock.monotonic();
      const reason = await new Promise<unknown>((resolve) => p.once('disconnect', resolve));
      reasons.push(reason);
      t.ok(world.clock.monotonic() - connectedAt >= 1000, 'not before the supervision timeout');
    }
    t.same(reasons, [0x08, 0x08, 0x08]);
  },
);

t.test('a lock that leaves range while connected drops with reason 0x08', async (t) => {
  const { world, noble } = await startRadio(t, { timeScale: 2 });
  const dwellMs = world.clock.monotonic() + 3000;
  world.add(lockPeripheral(1, { app: echoApp(), presence: { arriveAtMs: 0, dwellMs } }));
  const [p] = (await discover(noble, 1)) as [Peripheral];
  await openLockLink(p);
  const reason = await new Promise<unknown>((resolve) => p.once('disconnect', resolve));
  t.equal(reason, 0x08);
  t.ok(
    world.clock.monotonic() >= dwellMs + 420,
    'after departure plus the supervision timeout noble asked for',
  );
});
