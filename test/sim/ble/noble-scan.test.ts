import type { Peripheral } from '@stoprocent/noble';
import t from 'tap';
import { BLE_COMPANY_ID } from '../../../src/lock/transport/ble-gatt.js';
import { echoApp } from '../../../src/sim/ble/apps.js';
import { discover, lockAddress, lockId, lockPeripheral, SERVICE, startRadio } from './fixtures.js';

t.test('noble sees each lock advertisement: name, manufacturer data, service UUID, RSSI', async (t) => {
  const { world, noble } = await startRadio(t, { seed: 11 });
  world.add(
    lockPeripheral(1, { app: echoApp(), rssiDbm: -50, rssiNoiseDb: 0 }),
    lockPeripheral(2, { app: echoApp(), rssiDbm: -80, rssiNoiseDb: 0 }),
  );
  const found = await discover(noble, 2);
  const byName = new Map(found.map((p) => [p.advertisement.localName, p]));
  for (const [i, rssi] of [
    [1, -50],
    [2, -80],
  ] as const) {
    const p = byName.get(lockId(i));
    t.ok(p, `lock ${i} discovered`);
    if (!p) continue;
    t.equal(p.address, lockAddress(i));
    t.equal(p.addressType, 'random');
    t.equal(p.connectable, true);
    t.equal(p.rssi, rssi);
    t.same(p.advertisement.serviceUuids, [SERVICE]);
    const m = p.advertisement.manufacturerData;
    t.ok(m, 'manufacturer data present');
    if (!m) continue;
    t.equal(m.readUInt16LE(0), BLE_COMPANY_ID);
    t.equal(m[2], 1, 'protocol version');
    t.equal(m[3], 1, 'seal state');
    t.equal(m.readUInt16LE(4), 3 + i, 'event count');
    t.same([...m.subarray(6, 10)], [i, i, i, i], 'manifest hash prefix');
  }
});

t.test('RSSI noise varies around the mean', async (t) => {
  const { world, noble } = await startRadio(t, { seed: 5 });
  world.add(lockPeripheral(1, { app: echoApp(), rssiDbm: -70, rssiNoiseDb: 4, advertisingIntervalMs: 20 }));
  const samples: number[] = [];
  await new Promise<void>((resolve) => {
    noble.on('discover', (p: Peripheral) => {
      samples.push(p.rssi);
      if (samples.length === 30) resolve();
    });
    void noble.startScanningAsync([SERVICE], true);
  });
  await noble.stopScanningAsync();
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  t.ok(Math.abs(mean + 70) < 3, `mean ${mean} near -70`);
  t.ok(new Set(samples).size > 3, 'samples differ');
});

t.test('duplicate filtering: one report per lock unless the host allows duplicates', async (t) => {
  const { world, noble } = await startRadio(t, { seed: 2 });
  world.add(lockPeripheral(1, { app: echoApp(), advertisingIntervalMs: 20 }));
  let seen = 0;
  noble.on('discover', () => seen++);
  await noble.startScanningAsync([SERVICE], false);
  await world.clock.sleep(500);
  await noble.stopScanningAsync();
  t.equal(seen, 1, 'filtered: reported once');

  seen = 0;
  await noble.startScanningAsync([SERVICE], true);
  await world.clock.sleep(500);
  await noble.stopScanningAsync();
  // 500 ms at ~25 ms per event; the scanner listens all the time (noble's window = interval).
  t.ok(seen >= 10, `duplicates allowed: ${seen} reports`);
});

t.test('the duplicate filter lets a changed payload through (a lock whose state changed)', async (t) => {
  const { world, radio, noble } = await startRadio(t);
  const p = lockPeripheral(1, { app: echoApp(), advertisingIntervalMs: 20 });
  world.add(p);
  const reports = () => radio.emulator.controller.stats.advertisingReports;
  await noble.startScanningAsync([SERVICE], false);
  await world.clock.sleep(300);
  t.equal(reports(), 2, 'ADV_IND and SCAN_RSP once each');
  const changed = lockPeripheral(1, { app: echoApp() });
  const scanResponse = Buffer.from(changed.scanResponseData!);
  scanResponse[scanResponse.length - 6] = 0x7f; // event count low byte
  p.setAdvertising(p.advertisingData, scanResponse);
  await world.clock.sleep(300);
  t.equal(reports(), 3, 'the new SCAN_RSP is reported, the unchanged ADV_IND is not');
  await noble.stopScanningAsync();
});

t.test('a train passes: locks appear in arrival order and vanish after their dwell', async (t) => {
  const { world, noble } = await startRadio(t, { seed: 9, timeScale: 2 });
  // Presence counts from the clock's zero; the radio has been up for a while already.
  const t0 = world.clock.monotonic() + 500;
  for (let i = 0; i < 4; i++) {
    world.add(lockPeripheral(i, { app: echoApp(), presence: { arriveAtMs: t0 + i * 1000, dwellMs: 1500 } }));
  }
  const firstSeen = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  noble.on('discover', (p: Peripheral) => {
    const now = world.clock.monotonic();
    if (!firstSeen.has(p.address)) firstSeen.set(p.address, now);
    lastSeen.set(p.address, now);
  });
  await noble.startScanningAsync([SERVICE], true);
  await world.clock.sleep(5500);
  await noble.stopScanningAsync();
  const order = [...firstSeen.entries()].sort((a, b) => a[1] - b[1]).map(([a]) => a);
  t.same(order, [0, 1, 2, 3].map(lockAddress), 'arrival order');
  // Times are taken at the host, a pty's latency after the radio sent each report; that
  // latency is the machine's, so "soon after arriving" and "not after leaving" are asserted
  // by the order of the reports (the line is FIFO: the arrival order above, and nothing of a
  // lock after the first report of one that came after it left), not by tolerances in ms
  // (once < 400 ms after arriving and < 300 ms past departure, which a loaded machine could
  // exceed without a bug).
  for (let i = 0; i < 4; i++) {
    const a = lockAddress(i);
    const arrive = t0 + i * 1000;
    t.ok(firstSeen.get(a)! >= arrive, `lock ${i} not seen before it arrives`);
    t.comment(`lock ${i} first seen ${(firstSeen.get(a)! - arrive).toFixed(0)} ms after it arrived`);
    if (i + 2 < 4) {
      // Lock i left 500 ms before lock i+2 arrived: nothing of lock i comes after lock i+2's first report.
      t.ok(lastSeen.get(a)! <= firstSeen.get(lockAddress(i + 2))!, `lock ${i} not seen after it left`);
    }
  }
});
