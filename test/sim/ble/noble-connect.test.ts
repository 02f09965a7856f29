import type { Peripheral } from '@stoprocent/noble';
import t from 'tap';
import { echoApp } from '../../../src/sim/ble/apps.js';
import { ByteStreamApp } from '../../../src/sim/ble/byte-stream-app.js';
import type { SimConnection, SimPeripheralApp } from '../../../src/sim/ble/peripheral-app.js';
import { net } from '../../helpers/patience.js';
import {
  discover,
  echoThrough,
  type LockLinkChars,
  lockId,
  lockPeripheral,
  openLockLink,
  RX,
  SERVICE,
  startRadio,
  TX,
} from './fixtures.js';

/** An app that records what the peripheral side saw. */
function recordingApp() {
  const log: string[] = [];
  const writes: Buffer[] = [];
  let connection: SimConnection | undefined;
  const app: SimPeripheralApp = {
    onConnect: (c) => {
      connection = c;
      log.push('connect');
    },
    onMtu: (_c, mtu) => log.push(`mtu ${mtu}`),
    onSubscribe: (_c, enabled) => log.push(`subscribe ${enabled}`),
    onRxWrite: (_c, value) => writes.push(Buffer.from(value)),
    onDisconnect: (_c, reason) => log.push(`disconnect 0x${reason.toString(16)}`),
  };
  return { app, log, writes, connection: () => connection };
}

function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + net(timeoutMs);
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

t.test(
  'connect, exchange MTU, discover, subscribe, write without response, receive notifications',
  async (t) => {
    const { world, noble } = await startRadio(t);
    const rec = recordingApp();
    world.add(lockPeripheral(1, { app: rec.app, maxMtu: 185 }));
    const [p] = (await discover(noble, 1)) as [Peripheral];
    await p.connectAsync();
    t.equal(p.state, 'connected');

    const { services, characteristics } = await p.discoverAllServicesAndCharacteristicsAsync();
    t.same(services.map((s) => s.uuid).sort(), ['1800', SERVICE].sort(), 'GAP and the lock service');
    const rx = characteristics.find((c) => c.uuid === RX)!;
    const tx = characteristics.find((c) => c.uuid === TX)!;
    t.same(rx.properties, ['writeWithoutResponse', 'write']);
    t.same(tx.properties, ['notify']);
    t.equal(p.mtu, 185, "MTU: the peripheral's maximum, below noble's 256");

    const name = characteristics.find((c) => c.uuid === '2a00')!;
    t.equal((await name.readAsync()).toString(), lockId(1), 'GAP device name readable');

    const descriptors = await tx.discoverDescriptorsAsync();
    t.same(
      descriptors.map((d) => d.uuid),
      ['2902'],
      'TX has a CCCD',
    );
    await tx.subscribeAsync();
    t.same(rec.log, ['connect', 'mtu 185', 'subscribe true']);

    await rx.writeAsync(Buffer.from('hello lock'), true);
    await rx.writeAsync(Buffer.from('with response'), false);
    await waitFor(() => rec.writes.length === 2);
    t.same(
      rec.writes.map((w) => w.toString()),
      ['hello lock', 'with response'],
    );

    const notified = new Promise<Buffer>((resolve) => tx.once('data', resolve));
    t.equal(rec.connection()!.notify(Buffer.from('from the lock')), true);
    t.equal((await notified).toString(), 'from the lock');

    t.throws(
      () => rec.connection()!.notify(Buffer.alloc(183)),
      { code: 'E_BLESIM_VALUE_SIZE' },
      'value > MTU - 3 refused',
    );

    await tx.unsubscribeAsync();
    t.same(rec.log.at(-1), 'subscribe false');

    const reason = new Promise<unknown>((resolve) => p.once('disconnect', resolve));
    await p.disconnectAsync();
    t.equal(await reason, 0x16, 'noble: connection terminated by local host');
    await waitFor(() => rec.log.at(-1) === 'disconnect 0x13');
    t.pass('peripheral: remote user terminated');
    t.equal(rec.connection()!.connected, false);
    t.equal(rec.connection()!.notify(Buffer.from('x')), false, 'notify after disconnect does nothing');
  },
);

t.test('MTU stays 23 when the peripheral does not go higher', async (t) => {
  const { world, noble } = await startRadio(t);
  world.add(lockPeripheral(1, { app: echoApp(), maxMtu: 23 }));
  const [p] = (await discover(noble, 1)) as [Peripheral];
  const link = await openLockLink(p);
  t.equal(p.mtu, 23);
  const data = Buffer.from('0123456789'.repeat(30));
  t.same(await echoThrough(p, link, data), data, 'echo in 20-byte values');
  await p.disconnectAsync();
});

t.test('a peripheral that ends the connection: noble sees reason 0x13', async (t) => {
  const { world, noble } = await startRadio(t);
  const rec = recordingApp();
  world.add(lockPeripheral(1, { app: rec.app }));
  const [p] = (await discover(noble, 1)) as [Peripheral];
  await p.connectAsync();
  const reason = new Promise<unknown>((resolve) => p.once('disconnect', resolve));
  rec.connection()!.disconnect();
  t.equal(await reason, 0x13);
  await waitFor(() => rec.log.at(-1) === 'disconnect 0x16');
  t.pass('peripheral: terminated by local host');
});

t.test('several connections at once up to the controller limit; the next is refused', async (t) => {
  const { world, radio, noble } = await startRadio(t, { seed: 4 }, { maxConnections: 3 });
  for (let i = 0; i < 4; i++) world.add(lockPeripheral(i, { app: echoApp() }));
  const found = await discover(noble, 4);
  const [a, b, c, d] = found as [Peripheral, Peripheral, Peripheral, Peripheral];
  const links: LockLinkChars[] = [];
  for (const p of [a, b, c]) links.push(await openLockLink(p));
  t.equal(radio.emulator.controller.connections.length, 3);
  await t.rejects(d.connectAsync(), /Connection Limit Exceeded \(0x9\)/, 'fourth refused with HCI 0x09');
  t.equal(radio.emulator.controller.stats.refusedAtLimit, 1);

  // All three carry data at the same time.
  const payloads = [a, b, c].map((_, i) => Buffer.alloc(4000, 0x30 + i));
  const echoed = await Promise.all([a, b, c].map((p, i) => echoThrough(p, links[i]!, payloads[i]!)));
  for (let i = 0; i < 3; i++) t.same(echoed[i], payloads[i], `link ${i} intact`);

  await a.disconnectAsync();
  await d.connectAsync();
  t.equal(d.state, 'connected', 'a freed slot takes the next lock');
  for (const p of [b, c, d]) await p.disconnectAsync();
});

t.test('a connection attempt to a lock out of range waits until cancelled', async (t) => {
  const { world, radio, noble } = await startRadio(t);
  const p = lockPeripheral(1, { app: echoApp(), presence: { arriveAtMs: 0, dwellMs: 60_000 } });
  world.add(p);
  const [found] = (await discover(noble, 1)) as [Peripheral];
  world.remove(p);
  const attempt = found.connectAsync();
  const outcome = await Promise.race([
    attempt.then(
      () => 'connected',
      (e: Error) => e.message,
    ),
    world.clock.sleep(500).then(() => 'waiting'),
  ]);
  t.equal(outcome, 'waiting');
  found.cancelConnect();
  await t.rejects(attempt, /cancel/);
  t.equal(radio.emulator.controller.connections.length, 0);
});

t.test(
  'a byte-stream device: output waits for the subscription, a full ring buffer drops the excess',
  async (t) => {
    const { world, noble } = await startRadio(t, { timeScale: 4 });
    const burst = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => i % 251));
    const app = new ByteStreamApp(
      {
        attach: (output) => output.write(burst),
        receive: () => undefined,
        detach: () => undefined,
      },
      { maxQueuedBytes: 64 * 1024 },
    );
    world.add(lockPeripheral(1, { app }));
    const [p] = (await discover(noble, 1)) as [Peripheral];
    const received: Buffer[] = [];
    let total = 0;
    const all = new Promise<void>((resolve) => {
      p.on('handleNotify', (_h: number, d: Buffer) => {
        received.push(d);
        total += d.length;
        if (total >= 64 * 1024) resolve();
      });
    });
    await p.connectAsync();
    await world.clock.sleep(300);
    t.equal(total, 0, 'nothing notified before the central subscribes');
    t.equal(app.overflowed, 36 * 1024, 'the excess was dropped');
    const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync([SERVICE], [TX]);
    await characteristics[0]!.subscribeAsync();
    await all;
    t.same(Buffer.concat(received), burst.subarray(0, 64 * 1024), 'the first 64 KiB, in order');
    t.ok(
      received.every((d) => d.length <= (p.mtu ?? 23) - 3),
      'cut to MTU - 3',
    );
    await p.disconnectAsync();
  },
);
