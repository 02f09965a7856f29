import t from 'tap';
import { packetsPerEvent } from '../../../src/sim/ble/air-time.js';
import { LinkLayer } from '../../../src/sim/ble/link-layer.js';
import { type ListenerWindows, type ScannerShare, SharedAir } from '../../../src/sim/ble/shared-air.js';
import { SimClock } from '../../../src/sim/ble/sim-clock.js';
import { seededRandom } from '../../../src/sim/prng.js';

/** `count` links on one radio, each with its peripheral flooding full notifications. */
function radio(
  count: number,
  o: {
    listening?: boolean;
    scannerShare?: ScannerShare;
    windows?: ListenerWindows;
    marginDb?: () => number;
    supervision?: boolean;
  } = {},
) {
  const clock = new SimClock({ timeScale: 50 });
  const listening = o.listening ?? false;
  const air = new SharedAir(
    clock,
    () => listening,
    o.scannerShare,
    () => o.windows,
  );
  const random = seededRandom(9);
  const delivered = new Array<number>(count).fill(0);
  const lost: boolean[] = [];
  const links = Array.from({ length: count }, (_, i) => {
    const link: LinkLayer = new LinkLayer(
      {
        clock,
        random,
        intervalMs: 15,
        lossRate: 0,
        llOctets: 251,
        air,
        ...(o.marginDb ? { marginDb: o.marginDb } : {}),
        ...(o.supervision ? { supervisionTimeoutMs: 420 } : {}),
      },
      {
        toPeripheral: () => {},
        centralReady: () => true,
        toCentral: () => {
          delivered[i]!++;
          link.fromPeripheral(Buffer.alloc(251), false);
        },
        completed: () => {},
        txRoom: () => {},
        lost: (established) => lost.push(established),
      },
    );
    return link;
  });
  return { clock, air, links, delivered, lost };
}

/**
 * Floods for about `simMs` and returns each link's packets per simulated second over the
 * events that were played: a batch may wake late, so the span is the air's own timeline.
 */
async function run(r: ReturnType<typeof radio>, simMs: number): Promise<number[]> {
  const start = r.clock.monotonic();
  for (const link of r.links) for (let k = 0; k < 4; k++) link.fromPeripheral(Buffer.alloc(251), false);
  await r.clock.sleep(simMs);
  const seconds = (r.air.playedUntilMs - start) / 1000;
  const rates = r.delivered.map((d) => d / seconds);
  for (const link of r.links) link.stop();
  return rates;
}

const PER_SECOND_ALONE = (packetsPerEvent('1m', 15, 251) * 1000) / 15; // 400 full packets/s

t.test('one link alone carries what its events hold: six full packets per 15 ms', async (t) => {
  const r = radio(1);
  const [d] = await run(r, 3000);
  t.ok(d! > PER_SECOND_ALONE * 0.97 && d! <= PER_SECOND_ALONE * 1.01, `${d!.toFixed(0)} packets/s`);
});

t.test('eight links share one radio: together no more than it carries, each a fair part', async (t) => {
  const r = radio(8);
  const d = await run(r, 3000);
  const total = d.reduce((a, b) => a + b, 0);
  t.ok(
    total <= PER_SECOND_ALONE * 1.01,
    `together ${total.toFixed(0)} packets/s ≤ one radio's ${PER_SECOND_ALONE}`,
  );
  t.ok(total >= PER_SECOND_ALONE * 0.9, `and the air is used: ${total.toFixed(0)}`);
  for (const [i, x] of d.entries()) {
    const share = x / (total / 8);
    t.ok(share > 0.7 && share < 1.3, `link ${i}: ${share.toFixed(2)} of an equal share`);
  }
  t.ok(r.air.stats.skipped > 0, 'events that found the air taken were lost');
});

/** What the scanner hears of the air after a second of `count` flooding links, and their packets per second. */
async function listenedBeside(count: number, scannerShare?: ScannerShare, windows?: ListenerWindows) {
  const r = radio(count, {
    listening: true,
    ...(scannerShare ? { scannerShare } : {}),
    ...(windows ? { windows } : {}),
  });
  const start = r.clock.monotonic();
  for (const link of r.links) for (let k = 0; k < 4; k++) link.fromPeripheral(Buffer.alloc(251), false);
  await r.clock.sleep(1000);
  const heard = r.air.listenFraction();
  const delivered = r.delivered.reduce((a, b) => a + b, 0);
  const total = delivered / ((r.air.playedUntilMs - start) / 1000);
  for (const link of r.links) link.stop();
  return { heard, total };
}

t.test('a controller that keeps its scanner a share: one contender more while links are busy', async (t) => {
  const one = await listenedBeside(1, 'contender');
  const eight = await listenedBeside(8, 'contender');
  // One busy link and the scanner: about half each; eight and the scanner: about a ninth,
  // and what is left at the end of an interval where no full exchange fits before the anchors.
  t.ok(one.heard > 0.4 && one.heard < 0.6, `one link: the scanner hears ${one.heard.toFixed(2)} of the time`);
  t.ok(
    one.total > PER_SECOND_ALONE * 0.4 && one.total < PER_SECOND_ALONE * 0.6,
    `and the link carries about half of what it would alone: ${one.total.toFixed(0)} packets/s`,
  );
  t.ok(eight.heard > 0.08 && eight.heard < 0.25, `eight links: ${eight.heard.toFixed(2)}`);
  const idle = radio(1, { listening: true, scannerShare: 'contender' });
  t.ok(idle.air.listenFraction() > 0.95, 'an idle link leaves nearly all the air');
  idle.links[0]!.stop();
});

t.test('a share that is not a whole number of exchanges is made up at the next events', async (t) => {
  // Three links and the scanner: 3.75 ms of each 15 ms interval per link, one full exchange
  // (2.5 ms) and a half. Rounded down at every event, the links would carry half the air and
  // the scanner hear in the other half; owed the rest, they carry about three quarters.
  const three = await listenedBeside(3, 'contender');
  t.ok(
    three.total > PER_SECOND_ALONE * 0.68 && three.total < PER_SECOND_ALONE * 0.8,
    `three links: ${(three.total / PER_SECOND_ALONE).toFixed(2)} of the air`,
  );
  t.ok(three.heard > 0.18 && three.heard < 0.36, `the scanner about a quarter: ${three.heard.toFixed(2)}`);
});

t.test(
  'a controller that gives its links the air first: busy links leave the scanner almost nothing',
  async (t) => {
    const one = await listenedBeside(1, 'leftover');
    const two = await listenedBeside(2, 'leftover');
    t.ok(one.heard < 0.05, `one flooding link: the scanner hears ${one.heard.toFixed(3)} of the time`);
    t.ok(
      one.total > PER_SECOND_ALONE * 0.97,
      `and the link carries what it would alone: ${one.total.toFixed(0)} packets/s`,
    );
    t.ok(two.heard < 0.05, `two: ${two.heard.toFixed(3)}`);
    t.ok(two.total > PER_SECOND_ALONE * 0.95, `together all the air: ${two.total.toFixed(0)} packets/s`);
  },
);

t.test("scan windows that cut link events: the scanner's share follows its interval", async (t) => {
  // noble's 11.25 ms continuous scan beside links at 15 ms: each window start ends the link
  // event under way and keeps the air until the next anchor. At a random moment the scanner
  // has the air when its last start came after the last anchor: 1 − 11.25/30 = 0.63 beside
  // one link, 7.5/22.5 = 0.33 beside two (anchors 7.5 ms apart); a 100 ms interval, 0.04.
  const noble = { intervalMs: 11.25, windowMs: 11.25, sinceMs: 0 };
  const one = await listenedBeside(1, 'preempt', noble);
  const two = await listenedBeside(2, 'preempt', noble);
  const slow = await listenedBeside(2, 'preempt', { intervalMs: 100, windowMs: 100, sinceMs: 0 });
  t.ok(
    one.heard > 0.5 && one.heard < 0.75,
    `one link: the scanner hears ${one.heard.toFixed(2)} of the time`,
  );
  t.ok(two.heard > 0.22 && two.heard < 0.45, `two links: ${two.heard.toFixed(2)}`);
  t.ok(
    two.total < PER_SECOND_ALONE * 0.8,
    `and they carry ${(two.total / PER_SECOND_ALONE).toFixed(2)} of the air`,
  );
  t.ok(slow.heard < 0.12, `a 100 ms interval beside two links: ${slow.heard.toFixed(2)}`);
  t.ok(
    slow.total > PER_SECOND_ALONE * 0.85,
    `the links ${(slow.total / PER_SECOND_ALONE).toFixed(2)} of the air`,
  );
});

t.test('a lock beyond the edge of range: the connection is never established (0x3E)', async (t) => {
  const r = radio(1, { marginDb: () => -10, supervision: true });
  await r.clock.sleep(300);
  t.same(r.lost, [false], 'lost before any packet was heard');
  t.equal(r.delivered[0], 0);
});

t.test('a link whose lock moves out of range is lost after the supervision timeout', async (t) => {
  let margin = 20;
  const r = radio(1, { marginDb: () => margin, supervision: true });
  r.links[0]!.fromPeripheral(Buffer.alloc(251), false);
  await r.clock.sleep(300);
  t.same(r.lost, [], 'in range: alive');
  t.ok(r.delivered[0]! > 0);
  margin = -10;
  // Batches play events late: the events not yet played when the lock leaves are played out
  // of range, so the last packet heard is at the end of the timeline played so far (within
  // the exchange under way, a few ms), not at the clock's present.
  const lastHeard = r.air.playedUntilMs;
  while (r.lost.length === 0) await r.clock.sleep(20);
  t.same(r.lost, [true]);
  const after = r.clock.monotonic() - lastHeard;
  t.ok(
    after >= 420 - 5,
    `not before the supervision timeout from the last packet heard: ${after.toFixed(0)} ms`,
  );
});

t.test('at the edge of range packets are lost and repeated, none corrupted or dropped', async (t) => {
  const r = radio(1, { marginDb: () => 1 });
  const [d] = await run(r, 2000);
  const stats = r.links[0]!.stats;
  t.ok(
    stats.pdusLost > stats.pdusDelivered * 0.2,
    `lost ${stats.pdusLost}, delivered ${stats.pdusDelivered}`,
  );
  t.ok(d! < PER_SECOND_ALONE * 0.8, `slower than in the clear: ${d!.toFixed(0)} packets/s`);
});

t.test('links with nothing to send keep their empty events, and a busy link loses that air', async (t) => {
  // Packets per simulated second of link 0, the only one with data, among `count` open links.
  const rateOfFirst = async (count: number) => {
    const r = radio(count);
    for (let k = 0; k < 4; k++) r.links[0]!.fromPeripheral(Buffer.alloc(251), false);
    const start = r.clock.monotonic();
    await r.clock.sleep(3000);
    const rate = r.delivered[0]! / ((r.air.playedUntilMs - start) / 1000);
    for (const link of r.links) link.stop();
    return { rate, others: r.delivered.slice(1) };
  };
  const alone = await rateOfFirst(1);
  t.ok(alone.rate > PER_SECOND_ALONE * 0.97, `alone ${alone.rate.toFixed(0)} packets/s`);
  // Six full exchanges (6 × 2468 µs) fill 14 808 µs of a 15 ms event's 14 850: an idle link's
  // empty exchange (460 µs) at its anchor leaves room for five.
  const beside = await rateOfFirst(2);
  t.same(beside.others, [0], 'the second link sent nothing');
  const five = (PER_SECOND_ALONE * 5) / 6;
  t.ok(
    beside.rate > five * 0.97 && beside.rate < five * 1.03,
    `beside an idle link ${beside.rate.toFixed(0)} packets/s: five full exchanges of six per event`,
  );
});
