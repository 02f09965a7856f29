import type { Peripheral } from '@stoprocent/noble';
import t from 'tap';
import { disconnectingApp, echoApp, FloodApp } from '../../../src/sim/ble/apps.js';
import { discover, lockId, lockPeripheral, SERVICE, startRadio } from './fixtures.js';

t.test(
  'a lock that advertises but never answers ATT: connected, yet discovery never completes',
  async (t) => {
    const { world, noble } = await startRadio(t);
    world.add(lockPeripheral(1, { app: echoApp(), att: 'silent' }));
    const [p] = (await discover(noble, 1)) as [Peripheral];
    await p.connectAsync();
    t.equal(p.state, 'connected', 'the link layer connects');
    const outcome = await Promise.race([
      p.discoverServicesAsync([SERVICE]).then(() => 'discovered'),
      world.clock.sleep(1500).then(() => 'no answer'),
    ]);
    t.equal(outcome, 'no answer', 'noble waits: the caller needs its own timeout');
    t.equal(p.mtu, null, 'the MTU exchange was never answered either');
    const reason = new Promise<unknown>((resolve) => p.once('disconnect', resolve));
    await p.disconnectAsync();
    t.equal(await reason, 0x16, 'and the link can still be dropped');
  },
);

t.test(
  'a lock that floods notifications: the radio paces it at link speed, memory stays bounded',
  async (t) => {
    const { world, radio, noble } = await startRadio(t, {
      link: { connectionIntervalMs: 15, packetsPerInterval: 4 },
    });
    const flood = new FloodApp({ ignoreSubscription: true });
    world.add(lockPeripheral(1, { app: flood, txBufferDepth: 8 }));
    const [p] = (await discover(noble, 1)) as [Peripheral];
    let received = 0;
    let maxQueued = 0;
    // noble delivers notifications for handles it has not discovered as 'handleNotify'.
    p.on('handleNotify', (_handle: number, data: Buffer) => {
      received += data.length;
      maxQueued = Math.max(maxQueued, radio.emulator.controller.connections[0]?.txQueued ?? 0);
    });
    await p.connectAsync();
    await world.clock.sleep(1500);
    t.ok(received > 0, 'notifications arrive before any subscription');
    const info = radio.emulator.controller.connections[0]!;
    const simSeconds = (world.clock.monotonic() - info.connectedAtMs) / 1000;
    t.ok(received <= info.goodputToCentral * simSeconds * 1.05, 'no faster than the link');
    t.ok(
      maxQueued > 0 && maxQueued <= 8,
      `the peripheral's TX queue stays within its 8 buffers (max ${maxQueued})`,
    );
    t.ok(flood.notified >= received, 'nothing invented on the way');
    await p.disconnectAsync();
  },
);

t.test('a lock that disconnects in a loop: every attempt ends with reason 0x13', async (t) => {
  const { world, radio, noble } = await startRadio(t);
  world.add(lockPeripheral(1, { app: disconnectingApp(echoApp(), world.clock, 300) }));
  // Set-up (MTU exchange, discovery) takes several connection events; 300 ms cuts into it.
  const [p] = (await discover(noble, 1)) as [Peripheral];
  // How long each connection lasted, on the controller's own clock: measured at the host, the
  // latency of the pty in between would be in it (and once made a 300 ms drop look like 299).
  const lasted: number[] = [];
  radio.emulator.controller.on('disconnect', (info) =>
    lasted.push(world.clock.monotonic() - info.connectedAtMs),
  );
  for (let i = 0; i < 3; i++) {
    await p.connectAsync();
    const reason = await new Promise<unknown>((resolve) => p.once('disconnect', resolve));
    t.equal(reason, 0x13, `attempt ${i}: remote user terminated`);
    const after = lasted[i] ?? Number.NaN;
    // Never before the app's 300 ms; the LL terminate procedure then takes a few 30 ms events.
    t.ok(
      after >= 300 && after < 1000,
      `attempt ${i}: dropped ${after.toFixed(0)} simulated ms after connecting`,
    );
  }
});

t.test("a device impersonating another lock's id is a second peripheral with the same name", async (t) => {
  const { world, noble } = await startRadio(t);
  const genuine = lockPeripheral(7, { app: echoApp() });
  const impostor = lockPeripheral(99, { app: echoApp() });
  impostor.setAdvertising(genuine.advertisingData, genuine.scanResponseData);
  world.add(genuine, impostor);
  const found = await discover(noble, 2);
  t.same(
    found.map((p) => p.advertisement.localName),
    [lockId(7), lockId(7)],
  );
  t.not(found[0]!.address, found[1]!.address, 'told apart only by address');
});
