import { randomBytes } from 'node:crypto';
import t from 'tap';
import { LinkLayer } from '../../../src/sim/ble/link-layer.js';
import { linkGoodput } from '../../../src/sim/ble/link-params.js';
import { SimClock } from '../../../src/sim/ble/sim-clock.js';
import { seededRandom } from '../../../src/sim/prng.js';

function link(
  o: {
    lossRate?: number;
    llOctets?: number;
    scale?: number;
    onPeripheral?: (data: Buffer) => void;
    centralReady?: () => boolean;
  } = {},
) {
  const clock = new SimClock({ timeScale: o.scale ?? 20 });
  const toPeripheral: Buffer[] = [];
  const toCentral: Array<{ first: boolean; data: Buffer; at: number }> = [];
  let completed = 0;
  let rooms = 0;
  const ll = new LinkLayer(
    {
      clock,
      random: seededRandom(42),
      intervalMs: 10,
      packetsPerInterval: 4,
      lossRate: o.lossRate ?? 0,
      llOctets: o.llOctets ?? 251,
    },
    {
      toPeripheral: (_pb, data) => {
        toPeripheral.push(data);
        o.onPeripheral?.(data);
      },
      centralReady: o.centralReady ?? (() => true),
      toCentral: (first, data) => toCentral.push({ first, data: Buffer.from(data), at: clock.monotonic() }),
      completed: (n) => (completed += n),
      txRoom: () => rooms++,
    },
  );
  const until = async (check: () => boolean) => {
    while (!check()) await clock.sleep(5);
  };
  return { clock, ll, toPeripheral, toCentral, until, completed: () => completed, rooms: () => rooms };
}

t.test('host fragments arrive whole and in order, each reported completed once, despite loss', async (t) => {
  const l = link({ lossRate: 0.4, llOctets: 27 });
  const frags = Array.from({ length: 60 }, (_, i) => randomBytes(1 + ((i * 37) % 251)));
  for (const f of frags) l.ll.fromCentral(0, f);
  await l.until(() => l.toPeripheral.length === frags.length);
  t.same(l.toPeripheral, frags);
  t.equal(l.completed(), frags.length);
  t.ok(l.ll.stats.pdusLost > 0, 'losses happened');
  t.equal(l.ll.queuedFromCentral, 0);
});

t.test(
  'peripheral PDUs are cut to the LL size; the first piece is flagged; losses repeat, not corrupt',
  async (t) => {
    const l = link({ lossRate: 0.3, llOctets: 27 });
    const pdus = Array.from({ length: 20 }, () => randomBytes(100));
    for (const p of pdus) l.ll.fromPeripheral(p, true);
    t.equal(l.ll.queuedNotifications, 20);
    await l.until(() => l.ll.queuedNotifications === 0);
    t.same(
      l.toCentral.map((c) => c.first),
      pdus.flatMap(() => [true, false, false, false]),
    );
    t.same(Buffer.concat(l.toCentral.map((c) => c.data)), Buffer.concat(pdus));
    t.ok(l.rooms() > 0, 'the app heard about room');
  },
);

t.test('throughput in simulated time matches linkGoodput', async (t) => {
  for (const lossRate of [0, 0.2]) {
    const l = link({ lossRate, scale: 50 });
    const value = 244;
    const count = 400;
    for (let i = 0; i < count; i++) l.ll.fromPeripheral(Buffer.alloc(value + 7), false);
    await l.until(() => l.toCentral.length === count);
    // Counted in connection events, which run on simulated time however late a batch wakes;
    // timestamps of deliveries would measure the machine's load instead.
    const simMs = l.ll.stats.events * 10;
    const measured = (count * value * 1000) / simMs;
    const theory = linkGoodput(
      { packetsPerInterval: 4, lossRate },
      { attMtu: 247, llOctets: 251, connectionIntervalMs: 10 },
    );
    t.ok(
      Math.abs(measured / theory - 1) < 0.05,
      `loss ${lossRate}: ${measured.toFixed(0)} vs ${theory.toFixed(0)} B/s`,
    );
  }
});

t.test('an answer goes out in a later connection event than the request that caused it', async (t) => {
  const l = link({
    onPeripheral: () => l.ll.fromPeripheral(Buffer.from('answer'), false),
  });
  const sent = l.clock.monotonic();
  l.ll.fromCentral(0, Buffer.from('request'));
  await l.until(() => l.toCentral.length === 1);
  t.ok(l.toCentral[0]!.at - sent >= 10, 'at least one interval later');
});

t.test('stop() drops queued data and moves nothing more', async (t) => {
  const l = link({ scale: 1 });
  l.ll.fromPeripheral(Buffer.alloc(50), true);
  l.ll.fromCentral(0, Buffer.alloc(50));
  l.ll.stop();
  t.equal(l.ll.queuedNotifications, 0);
  l.ll.fromCentral(0, Buffer.alloc(50));
  await l.clock.sleep(50);
  t.same(l.toCentral, []);
  t.same(l.toPeripheral, []);
});

t.test('linkGoodput: host ACL fragmentation costs whole LL PDUs', async (t) => {
  const base = { packetsPerInterval: 1, lossRate: 0 };
  const q = { attMtu: 247, llOctets: 27, connectionIntervalMs: 1000 };
  // 251-byte L2CAP PDU in 27-byte pieces: 10 PDUs.
  t.equal(linkGoodput(base, q), 24.4);
  // Host fragments of 100 bytes: 100+100+51 → 4+4+2 PDUs.
  t.equal(linkGoodput(base, { ...q, aclLength: 100 }), 24.4);
  // 128-byte fragments: 128+123 → 5+5.
  t.equal(linkGoodput(base, { ...q, aclLength: 128 }), 24.4);
  // 54-byte fragments: 4x54+35 → 4x2+2 = 10 PDUs too; 30-byte: 8x30+11 → 16+1.
  t.ok(Math.abs(linkGoodput(base, { ...q, aclLength: 30 }) - 244 / 17) < 1e-9);
});

t.test('a backed-up host holds peripheral data on air: nothing lost, nothing piled up', async (t) => {
  let ready = false;
  const l = link({ centralReady: () => ready });
  for (let i = 0; i < 5; i++) l.ll.fromPeripheral(Buffer.alloc(100, i), true);
  await l.clock.sleep(100);
  t.same(l.toCentral, [], 'held');
  t.ok(l.ll.stats.slotsHeld > 0, 'slots went unused');
  t.equal(l.ll.queuedNotifications, 5, 'still in the peripheral TX buffer');
  ready = true;
  await l.until(() => l.toCentral.length === 5);
  t.same(
    l.toCentral.map((c) => c.data[0]),
    [0, 1, 2, 3, 4],
  );
});
