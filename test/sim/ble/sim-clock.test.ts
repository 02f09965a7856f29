import { spawn } from 'node:child_process';
import { setImmediate as nextTurn, setTimeout as wallSleep } from 'node:timers/promises';
import t from 'tap';
import { SimClock } from '../../../src/sim/ble/sim-clock.js';
import { trainPassage } from '../../../src/sim/ble/train.js';

/** Keeps the process busy without yielding, as a starved or stopped process looks to its timers. */
function stall(wallMs: number): void {
  const until = performance.now() + wallMs;
  while (performance.now() < until);
}

t.test('simulated time never runs ahead of the wall clock × timeScale, and a sleep ends', async (t) => {
  // What holds however slow the machine: the clock may lose time to a busy machine, never gain it.
  const clock = new SimClock({ timeScale: 20, epochMs: 1_000_000 });
  const wall0 = performance.now();
  const sim0 = clock.monotonic();
  await clock.sleep(1000);
  const sim = clock.monotonic() - sim0;
  const wall = performance.now() - wall0;
  t.ok(sim >= 1000, 'slept at least the simulated second');
  t.ok(sim <= wall * 20, `no faster than ×20 (${sim.toFixed(0)} sim ms in ${wall.toFixed(0)} wall ms)`);
  t.comment(`×${(sim / wall).toFixed(1)} measured (×20 on an idle machine, less on a busy one)`);
  // One callback sees one instant, so these hold exactly (up to floating point).
  t.ok(Math.abs(clock.now() - 1_000_000 - clock.monotonic()) < 1e-6, 'now() = epoch + monotonic()');
  t.ok(Math.abs(clock.seconds() * 1000 - clock.monotonic()) < 1e-9, 'seconds() in seconds');
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
  t.throws(() => new SimClock({ maxStepMs: 0 }), TypeError);
});

t.test('a stall of the process stalls the simulated world: a second not run is not simulated', async (t) => {
  // The regression of issue 15: a starved test process let a simulated train pass unread.
  // A blocked event loop is what a busy host looks like from inside: no waiting, so no
  // simulated time, however long it lasts; the wall clock alone would have moved 4000 ms.
  const clock = new SimClock({ timeScale: 4, maxStepMs: 20 });
  let fired = false;
  const before = clock.monotonic();
  const deadline = new Promise<void>((resolve) =>
    clock.at(() => {
      fired = true;
      resolve();
    }, before + 1000),
  );
  stall(1000);
  await nextTurn();
  const after = clock.monotonic();
  t.ok(after - before < 1000, `${(after - before).toFixed(0)} simulated ms across a 1 s stall`);
  t.equal(fired, false, 'the deadline 1 simulated second out has not come');
  await deadline;
  t.ok(clock.monotonic() >= before + 1000, 'it comes once the process waits again');
});

t.test('a process the scheduler does not run for a second simulates at most one step of it', async (t) => {
  // SIGSTOP while the event loop waits: the wait looks idle from inside, and only maxStepMs
  // of it may count. Every other wait counts at most its wall time, so whatever the load:
  // simulated ≤ timeScale × (wall - stopped + maxStepMs).
  const clock = new SimClock({ timeScale: 4, maxStepMs: 20 });
  const scheduled = clock.setTimeout(() => {}, 60_000); // something scheduled: the heartbeat runs
  t.teardown(() => scheduled.cancel());
  await nextTurn();
  const sim0 = clock.monotonic();
  const wall0 = performance.now();
  const stopper = spawn('sh', ['-c', `kill -STOP ${process.pid}; sleep 1; kill -CONT ${process.pid}`]);
  await new Promise((resolve) => stopper.on('exit', resolve));
  await wallSleep(30);
  const sim = clock.monotonic() - sim0;
  const wall = performance.now() - wall0;
  const bound = 4 * (wall - 1000 + 20);
  t.ok(
    sim <= bound,
    `${sim.toFixed(0)} simulated ms in ${wall.toFixed(0)} wall ms, 1000 stopped (bound ${bound.toFixed(0)})`,
  );
});

t.test('only waiting passes simulated time: one callback sees one instant, work is free', async (t) => {
  const clock = new SimClock({ timeScale: 10 });
  await nextTurn();
  const first = clock.monotonic();
  stall(5);
  t.equal(clock.monotonic(), first, 'the same simulated instant across synchronous work');
  await nextTurn();
  const afterWork = clock.monotonic();
  t.ok(afterWork - first < 5 * 10, 'the 5 ms of work did not pass as 50 simulated ms');
  await wallSleep(5);
  t.ok(clock.monotonic() > afterWork, 'a wait does');
});

t.test('a held clock stands still until released, then its timers run from there', async (t) => {
  const clock = new SimClock({ timeScale: 10, held: true });
  t.equal(clock.held, true);
  let firedAt: number | undefined;
  clock.at(() => {
    firedAt = clock.monotonic();
  }, 50);
  await wallSleep(100);
  t.equal(clock.monotonic(), 0, 'no simulated time while held');
  t.equal(firedAt, undefined, 'no timer fires while held');
  clock.release();
  t.equal(clock.held, false);
  await clock.sleep(100);
  t.ok(firedAt !== undefined && firedAt >= 50, `fired at ${firedAt} simulated ms`);
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
