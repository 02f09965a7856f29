import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { toStoreError } from '../../src/store/sqlite-errors.js';
import { count, inspectionFor, openTestStore, routingFor, TestLock } from '../helpers/store.js';

const DAY = 86_400_000;

/**
 * "Nothing unacknowledged is ever deleted by anything": a store with rows in every state,
 * then every way to delete or strip something — the API's retention at its most eager,
 * and plain SQL as a bug or an operator with sqlite3 would write it.
 */
t.test('every delete path spares what the exchange has not acknowledged', async (t) => {
  const { store, clock } = openTestStore(t);
  const states: Record<string, number[]> = { queued: [], in_flight: [], rejected: [], acknowledged: [] };
  const manifests: Record<string, string> = {};
  for (const state of Object.keys(states)) {
    const lock = new TestLock(`LK-${state}`, state.length).log({ kind: 1, time: 1 });
    const r = ingestRecord(store, {
      read: lock.read({}, clock.now()),
      inspection: inspectionFor(lock.manifest, routingFor(lock.lockId), 'bad_signature'),
    });
    states[state] = r.outboxIds;
    manifests[state] = r.manifest!.manifestId;
    clock.advance(1);
  }
  states.queued!.push(store.outbox.enqueue('outage', Buffer.from('o'), {}, clock.now()));
  const claimed = store.outbox.claimDue(clock.now(), 1000);
  for (const o of claimed) {
    if (states.queued!.includes(o.id)) store.outbox.retryLater(o.id, clock.now(), 'later');
    if (states.rejected!.includes(o.id))
      store.outbox.reject(o.id, {
        bytes: Buffer.from('r'),
        status: 'rejected',
        reasonCode: 'X',
        at: clock.now(),
      });
    if (states.acknowledged!.includes(o.id))
      store.outbox.acknowledge(o.id, { bytes: Buffer.from('a'), status: 'accepted', at: clock.now() });
  }
  const open = store.outages.open('dns', clock.now());
  store.outages.close(clock.now() + 1);
  const unacked = [...states.queued!, ...states.in_flight!, ...states.rejected!];
  const snapshot = () =>
    unacked.map((id) => {
      const o = store.outbox.get(id)!;
      return [id, o.state, o.payload?.toString('hex')];
    });
  const before = snapshot();

  // 1. Plain SQL: each must fail with E_STORE_PROTECTED (or the foreign key) and change nothing.
  const attempts = [
    'DELETE FROM outbox',
    `DELETE FROM outbox WHERE state = 'queued'`,
    `DELETE FROM outbox WHERE state = 'in_flight'`,
    `DELETE FROM outbox WHERE state = 'rejected'`,
    'UPDATE outbox SET payload = NULL',
    'DELETE FROM manifest_payload',
    'DELETE FROM manifest',
    `UPDATE manifest_payload SET bytes = x'00'`,
    `UPDATE outbox SET state = 'queued' WHERE outbox_id IN (SELECT outbox_id FROM outbox WHERE state = 'acknowledged')`,
    `INSERT OR REPLACE INTO outbox (outbox_id, kind, payload, payload_sha256, payload_size, next_attempt_at, created_at)
       VALUES (${states.queued![0]}, 'outage', x'00', x'00', 1, 0, 0)`,
    `DELETE FROM outage WHERE outage_id = ${open.id}`,
  ];
  for (const sql of attempts) {
    let error: unknown;
    try {
      store.db.exec(sql);
    } catch (err) {
      error = err;
    }
    const mapped = toStoreError(error, 'test');
    t.ok(
      error !== undefined &&
        (isCtopError(mapped, 'E_STORE_PROTECTED') || isCtopError(mapped, 'E_STORE_INPUT')),
      `refused: ${sql.split('\n')[0]} (${mapped.code})`,
    );
  }
  t.same(snapshot(), before, 'plain SQL changed nothing');

  // 2. Retention at its most eager, far in the future.
  clock.advance(100 * 365 * DAY);
  store.retention({ payloadDays: 0, traceabilityDays: 0 });
  t.same(snapshot(), before, 'retention spares unacknowledged rows and their payloads');
  for (const state of ['queued', 'in_flight', 'rejected']) {
    t.ok(store.manifests.bytes(manifests[state]!), `manifest bytes of a ${state} row kept`);
  }
  t.equal(store.manifests.get(manifests.acknowledged!), undefined, 'the acknowledged one did go');
  t.equal(store.outages.list().length, 1, 'the unreported outage stays');

  t.equal(count(store, 'manifest_payload'), 3);
  t.same(store.integrityCheck(), ['ok']);
});
