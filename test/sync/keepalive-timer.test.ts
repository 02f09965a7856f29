import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { keepaliveTimer } from '../../src/sync/keepalive-timer.js';

const until = async (done: () => boolean, what: string) => {
  for (const end = performance.now() + 30_000; !done(); await sleep(5)) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
};

t.test('left alone it fires every interval, as setInterval would, never early', async (t) => {
  const timer = keepaliveTimer();
  const at: number[] = [];
  const start = performance.now();
  const id = timer.set(() => at.push(performance.now()), 20);
  await until(() => at.length >= 3, 'three ticks');
  timer.clear(id);
  // Each deadline is an interval after the moment the one before was met, so the k-th tick
  // comes at least k intervals after the set, however late each one fired.
  for (const [k, when] of at.entries()) {
    t.ok(when - start >= 20 * (k + 1), `tick ${k + 1} not before ${20 * (k + 1)} ms`);
  }
});

t.test('restarted, it never fires before an interval has passed since the last restart', async (t) => {
  const timer = keepaliveTimer();
  let lastSet = 0;
  const early: number[] = [];
  let ticks = 0;
  const tick = () => {
    ticks++;
    const since = performance.now() - lastSet;
    if (since < 30) early.push(since);
  };
  // mqtt.js's pattern: clear, then set again, on every acknowledged packet.
  let id = 0;
  for (let i = 0; i < 40; i++) {
    timer.clear(id);
    lastSet = performance.now();
    id = timer.set(tick, 30);
    await sleep(2);
  }
  // Left alone after the last restart, it fires.
  await until(() => ticks >= 1, 'a tick after the restarts stopped');
  timer.clear(id);
  t.same(early, [], 'no tick came within an interval of the restart before it');
});

t.test('cleared, it stays quiet; a stale id clears nothing', async (t) => {
  const timer = keepaliveTimer();
  let ticks = 0;
  const first = timer.set(() => ticks++, 10);
  timer.clear(first);
  await sleep(60);
  t.equal(ticks, 0, 'nothing after clear');
  const second = timer.set(() => ticks++, 10);
  timer.clear(first);
  await until(() => ticks >= 1, 'the live one');
  timer.clear(second);
  const after = ticks;
  await sleep(60);
  t.equal(ticks, after);
});

t.test('a shorter interval set while a longer one is pending takes effect at once', async (t) => {
  const timer = keepaliveTimer();
  let ticks = 0;
  const long = timer.set(() => ticks++, 60_000);
  timer.clear(long);
  const short = timer.set(() => ticks++, 10);
  await until(() => ticks >= 1, 'the short interval');
  timer.clear(short);
  t.pass('fired without waiting out the minute');
});
