import { statSync } from 'node:fs';
import t from 'tap';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { count, inspectionFor, openTestStore, routingFor, TestLock } from '../helpers/store.js';

const DAY = 86_400_000;
const accepted = (at: number) => ({ bytes: Buffer.from(`receipt ${at}`), status: 'accepted' as const, at });

t.test('acknowledged payloads go after the retention days; hashes, routing and receipts stay', async (t) => {
  const { store, clock } = openTestStore(t);
  const synced = new TestLock('LK-1', 1, new Uint8Array(16_384).fill(1)).log({ kind: 1, time: 1 });
  const pending = new TestLock('LK-2', 2, new Uint8Array(16_384).fill(2));
  const a = ingestRecord(store, {
    read: synced.read(),
    inspection: inspectionFor(synced.manifest, routingFor('LK-1')),
  });
  const b = ingestRecord(store, {
    read: pending.read(),
    inspection: inspectionFor(pending.manifest, routingFor('LK-2')),
  });
  for (const o of store.outbox.claimDue(clock.now(), 10)) {
    if (a.outboxIds.includes(o.id)) store.outbox.acknowledge(o.id, accepted(clock.now()));
    else store.outbox.retryLater(o.id, clock.now(), 'broker unreachable');
  }
  clock.advance(89 * DAY);
  t.equal(store.retention().manifestPayloadsPurged, 0, 'not before 90 days');
  clock.advance(2 * DAY);
  const report = store.retention();
  t.equal(report.manifestPayloadsPurged, 1);
  t.equal(report.outboxPayloadsPurged, 1, 'the acknowledged events row');
  t.equal(store.manifests.bytes(a.manifest!.manifestId), undefined);
  const kept = store.manifests.get(a.manifest!.manifestId)!;
  t.equal(kept.payloadPurgedAt, clock.now());
  t.equal(kept.routing?.container, 'MSCU1234565', 'routing fields kept');
  const row = store.outbox.get(a.outboxIds[0]!)!;
  t.equal(row.payload, undefined);
  t.equal(row.payloadSha256.length, 32, 'hash kept');
  t.ok(row.receipt!.bytes.length > 0, 'receipt kept');
  t.equal(store.outbox.get(a.outboxIds[1]!)!.payload, undefined);
  t.ok(
    store.manifests.bytes(b.manifest!.manifestId)!.equals(pending.manifest),
    'unacknowledged bytes untouched',
  );
  t.equal(store.retention().manifestPayloadsPurged, 0, 'idempotent');
});

t.test(
  'after the traceability period acknowledged records go entirely; pages return to the disk',
  async (t) => {
    const { store, clock, path } = openTestStore(t);
    const ids: number[][] = [];
    for (let i = 0; i < 40; i++) {
      const lock = new TestLock(`LK-${i}`, i, new Uint8Array(16_384).fill(i));
      ids.push(
        ingestRecord(store, {
          read: lock.read({}, clock.now()),
          inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)),
        }).outboxIds,
      );
      clock.advance(1000);
    }
    const keep = new TestLock('LK-keep', 99);
    const unsent = ingestRecord(store, { read: keep.read({}, clock.now()) });
    for (const o of store.outbox.claimDue(clock.now(), 100)) {
      if (!unsent.outboxIds.includes(o.id)) store.outbox.acknowledge(o.id, accepted(clock.now()));
    }
    t.equal(count(store, 'receipt'), 1, 'the 40 rows were settled by the same receipt bytes: stored once');
    const sizeBefore = statSync(path).size;
    clock.advance(1827 * DAY - 1);
    const early = store.retention();
    t.equal(early.outboxRowsExpired, 0, 'kept for the whole traceability period');
    t.equal(early.readsExpired, 40, 'reads older than the period whose results were acknowledged');
    t.equal(count(store, 'manifest'), 41);
    clock.advance(2);
    const report = store.retention();
    t.equal(report.outboxRowsExpired, 40);
    t.equal(count(store, 'receipt'), 0, 'the receipt went with the last row it settled');
    t.equal(report.manifestsExpired, 40);
    t.equal(report.readsExpired, 0);
    t.equal(count(store, 'manifest'), 1, 'the unsent manifest stays');
    t.equal(count(store, 'lock_read'), 1, 'and the read that brought it');
    t.ok(store.manifests.bytes(unsent.manifest!.manifestId));
    t.equal(store.outbox.get(unsent.outboxIds[0]!)!.state, 'in_flight');
    t.ok(report.pagesFreed > 0, `incremental vacuum freed ${report.pagesFreed} pages`);
    t.equal(store.db.pragma('freelist_count', { simple: true }), 0);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    t.ok(statSync(path).size < sizeBefore / 2, `file shrank ${sizeBefore} → ${statSync(path).size}`);
    t.same(store.integrityCheck(), ['ok']);
    t.same(store.db.pragma('foreign_key_check'), []);
  },
);
