import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { splitByDay } from '../../src/store/outages.js';
import { openTestStore } from '../helpers/store.js';

const H = 3_600_000;

t.test('one outage open at a time; closing it counts its seconds per UTC day', async (t) => {
  const { store } = openTestStore(t);
  const start = Date.UTC(2025, 2, 14, 22);
  const o = store.outages.open('broker_unreachable', start, 'connect ECONNREFUSED');
  t.equal(store.outages.open('dns', start + 1000).id, o.id, 'the open outage is returned, not a second one');
  t.equal(store.outages.current()!.cause, 'broker_unreachable');
  t.same(store.outages.unreported(), [], 'an open outage is not reported yet');
  const closed = store.outages.close(start + 5 * H)!;
  t.equal(closed.endedAt, start + 5 * H);
  t.equal(store.outages.current(), undefined);
  t.equal(store.outages.close(start + 6 * H), undefined, 'nothing to close');
  t.same(
    store.exchangeStats.list().map((d) => [d.day, d.outageSeconds]),
    [
      ['2025-03-14', 2 * 3600],
      ['2025-03-15', 3 * 3600],
    ],
  );
  t.same(
    store.outages.unreported().map((x) => x.id),
    [o.id],
  );
  store.outages.markReported(o.id, start + 6 * H);
  t.same(store.outages.unreported(), []);
  t.equal(store.outages.list(start)[0]!.reportedAt, start + 6 * H);
  const open = store.outages.open('tls', start + 7 * H);
  const still = t.throws(() => store.outages.markReported(open.id, start + 8 * H));
  t.ok(isCtopError(still, 'E_STORE_INPUT'), 'an open outage cannot be reported');
  const missing = t.throws(() => store.outages.markReported(999, 1));
  t.ok(isCtopError(missing, 'E_STORE_NOT_FOUND'));
  const bad = t.throws(() => store.outages.open('Not A Token', 1));
  t.ok(isCtopError(bad, 'E_STORE_INPUT'));
});

t.test('an outage that stays open across a restart is still open afterwards', async (t) => {
  const { store, path, clock } = openTestStore(t);
  store.outages.open('power_loss', clock.now());
  store.close();
  const { openStore } = await import('../../src/store/index.js');
  const again = openStore({ path, clock });
  t.teardown(() => again.close());
  t.equal(again.outages.current()!.cause, 'power_loss');
});

t.test('exchange statistics add up per UTC day', async (t) => {
  const { store } = openTestStore(t);
  const day = Date.UTC(2025, 2, 14, 12);
  store.exchangeStats.record(day, { messagesSent: 3, bytesSent: 1000 });
  store.exchangeStats.record(day + H, { messagesSent: 1, receiptsAccepted: 3, resends: 1 });
  store.exchangeStats.record(day + 24 * H, { receiptsRejected: 1 });
  t.same(store.exchangeStats.list('2025-03-14', '2025-03-14'), [
    {
      day: '2025-03-14',
      messagesSent: 4,
      receiptsAccepted: 3,
      receiptsRejected: 0,
      resends: 1,
      outageSeconds: 0,
      bytesSent: 1000,
    },
  ]);
  t.equal(store.exchangeStats.list().length, 2);
  const bad = t.throws(() => store.exchangeStats.record(day, { messagesSent: -1 }));
  t.ok(isCtopError(bad, 'E_STORE_INPUT'));
});

t.test('splitByDay covers the interval exactly', async (t) => {
  const start = Date.UTC(2025, 0, 1, 23, 59, 30);
  const parts = splitByDay(start, start + 2 * 86_400_000);
  t.same(
    [...parts],
    [
      ['2025-01-01', 30],
      ['2025-01-02', 86_400],
      ['2025-01-03', 86_370],
    ],
  );
  t.same([...splitByDay(start, start)], []);
});
