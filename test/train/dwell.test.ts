import fc from 'fast-check';
import t from 'tap';
import { DwellEstimate } from '../../src/train/dwell.js';

t.test('unknown until three locks have left, then the median of their dwells', async (t) => {
  const d = new DwellEstimate();
  t.equal(d.dwellMs, undefined);
  d.add(5000);
  d.add(6000);
  t.equal(d.timeLeftMs(1000), undefined, 'two departures are not enough');
  d.add(20_000); // one heard long before the others arrived (a wagon stopped in range): not the train's dwell
  t.equal(d.dwellMs, 6000);
  t.equal(d.timeLeftMs(1500), 4500);
  t.equal(d.timeLeftMs(7000), -1000, 'overdue');
  d.add(5500);
  t.equal(d.dwellMs, 5750, 'even count: the mean of the middle two');
  d.reset();
  t.equal(d.dwellMs, undefined, 'a new train starts unknown');
});

t.test('nonsense is ignored; the window keeps the latest', async (t) => {
  const d = new DwellEstimate({ window: 3 });
  for (const x of [Number.NaN, -1, Number.POSITIVE_INFINITY]) d.add(x);
  t.equal(d.dwellMs, undefined);
  for (const x of [1000, 1000, 1000, 9000, 9000, 9000]) d.add(x);
  t.equal(d.dwellMs, 9000, 'the train slowed: the old dwells are out of the window');
});

t.test('the estimate lies within the dwells it was given', async () => {
  fc.assert(
    fc.property(fc.array(fc.nat(600_000), { minLength: 3, maxLength: 40 }), (dwells) => {
      const d = new DwellEstimate();
      for (const x of dwells) d.add(x);
      const recent = dwells.slice(-16);
      const est = d.dwellMs!;
      return est >= Math.min(...recent) && est <= Math.max(...recent);
    }),
  );
});

t.test('a departure taken back leaves the estimate as if it had never been made', async (t) => {
  const d = new DwellEstimate();
  for (const x of [5000, 6000, 1200]) d.add(x);
  t.equal(d.dwellMs, 5000);
  d.withdraw(1200); // heard again: it had not left
  t.equal(d.dwellMs, undefined, 'two departures left: unknown again');
  d.add(5500);
  t.equal(d.dwellMs, 5500);
  d.withdraw(9999);
  t.equal(d.dwellMs, 5500, 'a dwell never given: nothing taken back');
  d.add(5500);
  d.withdraw(5500);
  t.equal(d.dwellMs, 5500, 'one of two equal dwells taken back, the other kept');
});
