import t from 'tap';
import { type Clock, WallClockSteps } from '../src/clock.js';

/** Wall and monotonic time both set by the test. */
function clocks() {
  const c = { wall: 1_796_400_000_000, mono: 5_000 };
  const clock: Clock = { now: () => c.wall, monotonic: () => c.mono };
  return { c, steps: new WallClockSteps(clock) };
}

t.test('a step of the wall clock is seen once, with its size and sign', async (t) => {
  const { c, steps } = clocks();
  c.wall += 1000;
  c.mono += 1000;
  t.equal(steps.look(), 0, 'both clocks ran: no step');
  c.wall -= 45 * 60_000;
  c.wall += 1000;
  c.mono += 1000;
  t.equal(steps.look(), -45 * 60_000, 'a backward step');
  c.wall += 1000;
  c.mono += 1000;
  t.equal(steps.look(), 0, 'seen once');
  c.wall += 20 * 60_000;
  t.equal(steps.look(), 20 * 60_000, 'a forward step');
});

t.test('slewing is not a step, however long it runs', async (t) => {
  const { c, steps } = clocks();
  // NTP slews at most 500 ppm: 0.5 ms per second, for a day.
  for (let i = 0; i < 86_400; i++) {
    c.wall += 1000.5;
    c.mono += 1000;
    if (steps.look() !== 0) return t.fail(`a step seen after ${i} s of slewing`);
  }
  t.pass('no step in a day of slewing at 500 ppm');
});
