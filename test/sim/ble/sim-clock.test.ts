import t from 'tap';
import { SimClock } from '../../../src/sim/ble/sim-clock.js';
import { trainPassage } from '../../../src/sim/ble/train.js';

t.test('simulated time runs timeScale times faster than the wall clock', async (t) => {
  const clock = new SimClock({ timeScale: 20, epochMs: 1_000_000 });
  const wall0 = performance.now();
  const sim0 = clock.monotonic();
  await clock.sleep(1000);
  const wall = performance.now() - wall0;
  const sim = clock.monotonic() - sim0;
  t.ok(sim >= 1000, 'slept at least the simulated second');
  t.ok(wall >= 45 && wall < 500, `about 50 wall ms (${wall.toFixed(0)})`);
  t.ok(Math.abs(clock.now() - 1_000_000 - clock.monotonic()) < 1, 'now() = epoch + monotonic()');
  const s = clock.seconds();
  t.ok(s * 1000 <= clock.monotonic() && s * 1000 > clock.monotonic() - 1, 'seconds() in seconds');
});

t.test('timers never fire before their simulated deadline, and cancel() stops them', async (t) => {
  const clock = new SimClock({ timeScale: 7 });
  const early: number[] = [];
  await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) =>
        new Promise<void>((resolve) => {
          const at = clock.monotonic() + i * 3.3;
          clock.at(() => {
            if (clock.monotonic() < at) early.push(i);
            resolve();
          }, at);
        }),
    ),
  );
  t.same(early, []);
  let fired = false;
  clock
    .setTimeout(() => {
      fired = true;
    }, 20)
    .cancel();
  await clock.sleep(60);
  t.equal(fired, false);
  t.throws(() => new SimClock({ timeScale: 0 }), TypeError);
});

t.test(
  'a passing train: locks arrive in order, stay the same time, and are loudest at the antenna',
  async (t) => {
    const a = trainPassage(0, { startMs: 1000, spacingM: 15, speedMps: 3, rangeM: 50, lateralM: 10 });
    const b = trainPassage(1, { startMs: 1000, spacingM: 15, speedMps: 3, rangeM: 50, lateralM: 10 });
    t.equal(a.presence.arriveAtMs, 1000);
    t.equal(b.presence.arriveAtMs, 6000, '15 m at 3 m/s');
    t.equal(a.presence.dwellMs, b.presence.dwellMs);
    t.ok(Math.abs(a.presence.dwellMs - ((2 * Math.sqrt(2400)) / 3) * 1000) < 1e-6);
    const peak = a.rssiDbm(a.closestAtMs);
    t.ok(Math.abs(peak - (-59 - 25)) < 1e-9, 'at 10 m: -59 - 10·2.5·log10(10)');
    t.ok(a.rssiDbm(a.presence.arriveAtMs) < peak - 10, 'weaker at the edge of range');
    t.throws(() => trainPassage(0, { rangeM: 5, lateralM: 10 }), TypeError);
  },
);
