import { SerialPort } from 'serialport';
import t from 'tap';
import { FloodApp } from '../../../src/sim/ble/apps.js';
import { HciEmulator } from '../../../src/sim/ble/emulator.js';
import { SimWorld } from '../../../src/sim/ble/world.js';
import { PtyPair } from '../../../src/sim/pty-pair.js';
import { lockAddress, lockPeripheral } from './fixtures.js';

async function openHost(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 1_000_000, autoOpen: false, lock: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

t.test('a host that stops reading while the radio has much to say does not hang the radio', async (t) => {
  const pty = await PtyPair.open();
  const world = new SimWorld();
  const emulator = await HciEmulator.start({ world, path: pty.lockPath });
  const host = await openHost(pty.gatewayPath);
  t.teardown(async () => {
    await new Promise<void>((resolve) => host.close(() => resolve()));
    await emulator.stop();
    await pty.close();
    world.close();
  });
  // 30000 × Read BD_ADDR: 120 KB in, 390 KB of Command Complete (13 bytes each) out, far more than the ptys and socat hold,
  // while the host reads nothing. The radio's writes meet a full line; then the host falls
  // silent and only reads.
  const commands = 30_000;
  const command = Buffer.from('01091000', 'hex');
  // In small bursts, so the radio's last poll before the silence is a read's.
  const burst = Buffer.concat(Array.from({ length: 1000 }, () => command));
  for (let i = 0; i < commands / 1000; i++) {
    host.write(burst);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 300));
  // Stuck means no byte for a long while, not a slow total: a busy machine drains the ptys
  // slowly (one CI run had 94 KB of the 390 KB after 5 s, still moving), a hung radio not at all.
  const stallMs = 30_000;
  let received = 0;
  const outcome = await new Promise<'all' | 'stuck'>((resolve) => {
    let stall = setTimeout(() => resolve('stuck'), stallMs);
    host.on('data', (d: Buffer) => {
      received += d.length;
      clearTimeout(stall);
      if (received >= commands * 13) resolve('all');
      else stall = setTimeout(() => resolve('stuck'), stallMs);
    });
  });
  t.equal(outcome, 'all', `received ${received} of ${commands * 13} bytes`);
  t.equal(emulator.stats.bytesToHostPending, 0);
  t.equal(emulator.controller.stats.commands, commands);
});

t.test('opening a path that does not exist fails with E_BLESIM_PORT', async (t) => {
  const world = new SimWorld();
  await t.rejects(HciEmulator.start({ world, path: '/nonexistent/pty' }), { code: 'E_BLESIM_PORT' });
  world.close();
});

t.test('a host that does not read slows the air instead of filling memory', async (t) => {
  const pty = await PtyPair.open();
  const world = new SimWorld({ timeScale: 10, link: { connectionIntervalMs: 7.5, packetsPerInterval: 6 } });
  const flood = new FloodApp({ ignoreSubscription: true });
  world.add(lockPeripheral(1, { app: flood }));
  const emulator = await HciEmulator.start({ world, path: pty.lockPath });
  const host = await openHost(pty.gatewayPath);
  t.teardown(async () => {
    await new Promise<void>((resolve) => host.close(() => resolve()));
    await emulator.stop();
    await pty.close();
    world.close();
  });
  const peer = Buffer.from(lockAddress(1).replace(/:/g, ''), 'hex').reverse().toString('hex');
  host.write(Buffer.from('01010c08fffffbff07f8bf3d', 'hex')); // Set Event Mask, as noble does
  host.write(
    Buffer.from(`010d2019 6000 3000 00 01 ${peer} 00 0600 1800 0000 2a00 0400 0600`.replace(/ /g, ''), 'hex'),
  );
  await world.clock.sleep(10_000);
  const info = emulator.controller.connections[0];
  t.ok(info, 'connected');
  // No MTU exchange, no data length extension: 20-byte values in 27-byte PDUs, 800 a second,
  // so 10 s would be 160 KB of values and 256 KB on the line; the host read nothing.
  t.ok(
    emulator.stats.bytesToHostPending < 64 * 1024 + 8 * 1024,
    `pending ${emulator.stats.bytesToHostPending} bytes`,
  );
  t.ok(info!.stats.slotsHeld > 0, 'the controller stopped taking PDUs');
  t.ok(info!.txQueued <= 8, 'the lock keeps its data in its own buffer');
  t.ok(flood.notified < 100 * 1024, `the lock got ${flood.notified} bytes out, not 160 KB`);
});
