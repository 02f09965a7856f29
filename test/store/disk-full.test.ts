import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import type { StoreAlarm } from '../../src/store/index.js';
import { count, inspectionFor, openTestStore, routingFor, TestLock } from '../helpers/store.js';

const accepted = (at: number) => ({ bytes: Buffer.alloc(300, 1), status: 'accepted' as const, at });

function manifestLock(i: number): TestLock {
  return new TestLock(`LK-${i}`, i, Buffer.alloc(16_384, i));
}

t.test(
  'a full database refuses ingest with E_STORE_FULL and an alarm; data, reads and sync go on; ingest recovers',
  async (t) => {
    const changes: StoreAlarm['state'][] = [];
    const { store, clock } = openTestStore(t, {
      space: { reservePages: 64, onAlarmChange: (a) => changes.push(a.state) },
    });
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 300}`);
    const stored: number[] = [];
    let refused: unknown;
    for (let i = 0; i < 200 && refused === undefined; i++) {
      const lock = manifestLock(i);
      try {
        stored.push(
          ingestRecord(store, {
            read: lock.read({}, clock.now()),
            inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)),
          }).readId,
        );
      } catch (err) {
        refused = err;
      }
      clock.advance(1000);
    }
    t.ok(isCtopError(refused, 'E_STORE_FULL'), `refused after ${stored.length} reads`);
    t.ok(stored.length > 5, 'stored what fitted');
    t.equal(store.alarm.state, 'full');
    t.match((store.alarm as { reason: string }).reason, /page limit/);
    t.same(changes, ['full']);
    t.equal(count(store, 'lock_read'), stored.length, 'the refused read left nothing behind');
    const again = t.throws(() => ingestRecord(store, { read: manifestLock(500).read() }));
    t.ok(isCtopError(again, 'E_STORE_FULL'), 'still refused');

    // Reading and syncing continue on the reserve.
    t.equal(store.manifests.list({ limit: 1000 }).length, stored.length);
    const claimed = store.outbox.claimDue(clock.now(), 1000);
    t.equal(claimed.length, stored.length);
    for (const [i, o] of claimed.entries()) {
      if (i % 2 === 0) store.outbox.acknowledge(o.id, accepted(clock.now()));
      else store.outbox.retryLater(o.id, clock.now(), 'broker unreachable');
    }
    store.outages.open('broker_unreachable', clock.now());
    store.outages.close(clock.now() + 60_000);
    t.equal(store.outbox.status(clock.now()).counts.acknowledged, Math.ceil(stored.length / 2));
    t.same(store.integrityCheck(), ['ok'], 'nothing corrupted');

    // Space returns: ingest works again and the alarm clears by itself.
    store.db.pragma(`max_page_count = ${pages + 5000}`);
    t.equal(ingestRecord(store, { read: manifestLock(600).read() }).duplicate, false);
    t.equal(store.alarm.state, 'ok');
    t.same(changes, ['full', 'ok']);
  },
);

t.test('SQLite running out mid-transaction rolls the whole ingest back and raises the alarm', async (t) => {
  const { store } = openTestStore(t, { space: { preflight: false } });
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  store.db.pragma(`max_page_count = ${pages + 40}`);
  const lock = new TestLock('LK-big', 1, Buffer.alloc(400_000, 9)).log({ kind: 1, time: 1 });
  const err = t.throws(() => ingestRecord(store, { read: lock.read() }));
  t.ok(isCtopError(err, 'E_STORE_FULL'));
  t.equal(store.alarm.state, 'full');
  for (const table of ['lock', 'lock_read', 'manifest', 'manifest_payload', 'lock_event', 'outbox']) {
    t.equal(count(store, table), 0, `${table}: nothing half-stored`);
  }
  // The sync side hitting the limit is reported the same way.
  const big = t.throws(() => store.outbox.enqueue('outage', Buffer.alloc(400_000), {}, 1));
  t.ok(isCtopError(big, 'E_STORE_FULL'));
  store.db.pragma(`max_page_count = ${pages + 1000}`);
  ingestRecord(store, { read: lock.read() });
  t.equal(store.alarm.state, 'ok');
  t.same(store.integrityCheck(), ['ok']);
});

t.test('the filesystem check refuses ingest below the free-space reserve', async (t) => {
  const { store } = openTestStore(t, { space: { minFreeBytes: Number.MAX_SAFE_INTEGER } });
  const err = t.throws(() => ingestRecord(store, { read: new TestLock('LK-1', 1).read() }));
  t.ok(isCtopError(err, 'E_STORE_FULL'));
  t.match((store.alarm as { reason: string }).reason, /filesystem/);
  t.equal(store.checkSpace().state, 'full');
});
