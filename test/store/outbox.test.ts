import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { backoffDelay } from '../../src/store/index.js';
import { count, inspectionFor, openTestStore, routingFor, sha256, TestLock } from '../helpers/store.js';

const receipt = (status: 'accepted' | 'rejected', at: number, reasonCode?: string) => ({
  bytes: Buffer.from(`signed receipt ${status} ${at}`),
  status,
  at,
  ...(reasonCode ? { reasonCode } : {}),
});

t.test('claimDue hands out due rows oldest first, in flight, attempt counted, with payloads', async (t) => {
  const { store, clock } = openTestStore(t);
  const lock = new TestLock('LK-1', 1);
  const r = ingestRecord(store, {
    read: lock.read(),
    inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)),
  });
  clock.advance(1000);
  const outage = store.outbox.enqueue('outage', Buffer.from('outage report'), { cause: 'dns' }, clock.now());
  const now = clock.now();
  const first = store.outbox.claimDue(now, 1);
  t.same(
    first.map((o) => o.id),
    [r.outboxIds[0]],
  );
  t.equal(first[0]!.state, 'in_flight');
  t.equal(first[0]!.attempts, 1);
  t.equal(first[0]!.claimedAt, now);
  t.ok(first[0]!.payload!.equals(lock.manifest));
  t.ok(first[0]!.payloadSha256.equals(sha256(lock.manifest)));
  t.equal(first[0]!.payloadSize, lock.manifest.byteLength);
  const rest = store.outbox.claimDue(now, 10);
  t.same(
    rest.map((o) => o.id),
    [outage],
  );
  t.equal(rest[0]!.payload!.toString(), 'outage report');
  t.same(rest[0]!.routing, { cause: 'dns' });
  t.same(store.outbox.claimDue(now, 10), [], 'nothing is handed out twice');
  const byManifest = store.outbox.forManifest(r.manifest!.manifestId)!;
  t.equal(byManifest.id, r.outboxIds[0]);
  t.equal(byManifest.payload, undefined, 'found without loading the bytes');
  t.equal(store.outbox.forManifest('00'.repeat(32)), undefined);
  const bad = t.throws(() => store.outbox.claimDue(now, 0));
  t.ok(isCtopError(bad, 'E_STORE_INPUT'));
});

t.test('a claimed row is the row as the store reads it one by one, every field', async (t) => {
  const { store, clock } = openTestStore(t);
  const lock = new TestLock('LK-1', 1);
  ingestRecord(store, {
    read: lock.read(),
    inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)),
  });
  store.outbox.enqueue('outage', Buffer.from('outage report'), { cause: 'dns', since: 5 }, clock.now());
  const twice = store.outbox.enqueue('alert', Buffer.from('alert'), { n: 1 }, clock.now());
  store.outbox.recordMessageId(twice, 'urn:uuid:00000000-0000-4000-8000-000000000001');
  const claimed = store.outbox.claimDue(clock.now(), 10);
  t.equal(claimed.length, 3);
  // claimDue reads its batch as column arrays; get() as named columns: the two must agree.
  for (const entry of claimed) t.same(entry, store.outbox.get(entry.id), `row ${entry.id} (${entry.kind})`);
});

t.test('messageIds are recorded once and find their row', async (t) => {
  const { store, clock } = openTestStore(t);
  const a = store.outbox.enqueue('pairing', Buffer.from('a'), {}, clock.now());
  const b = store.outbox.enqueue('pairing', Buffer.from('b'), {}, clock.now());
  store.outbox.recordMessageId(a, 'urn:uuid:00000000-0000-5000-8000-00000000000a');
  store.outbox.recordMessageId(a, 'urn:uuid:00000000-0000-5000-8000-00000000000a');
  t.equal(store.outbox.findByMessageId('urn:uuid:00000000-0000-5000-8000-00000000000a')!.id, a);
  t.equal(store.outbox.findByMessageId('urn:uuid:nope'), undefined);
  const changed = t.throws(() => store.outbox.recordMessageId(a, 'urn:uuid:other'));
  t.ok(isCtopError(changed, 'E_STORE_OUTBOX_STATE'), 'a messageId never changes');
  const taken = t.throws(() =>
    store.outbox.recordMessageId(b, 'urn:uuid:00000000-0000-5000-8000-00000000000a'),
  );
  t.ok(isCtopError(taken, 'E_STORE_OUTBOX_STATE'), 'two rows never share one');
  const missing = t.throws(() => store.outbox.recordMessageId(999, 'urn:uuid:x'));
  t.ok(isCtopError(missing, 'E_STORE_NOT_FOUND'));
});

t.test(
  'acknowledge and reject settle a row once; duplicates are no-ops, contradictions errors',
  async (t) => {
    const { store, clock } = openTestStore(t);
    const lock = new TestLock('LK-2', 2);
    const r = ingestRecord(store, { read: lock.read() });
    const manifestRow = r.outboxIds[0]!;
    const other = store.outbox.enqueue('outage', Buffer.from('x'), {}, clock.now());
    store.outbox.claimDue(clock.now(), 10);
    t.equal(store.outbox.acknowledge(manifestRow, receipt('accepted', clock.now())), true);
    t.equal(
      store.outbox.acknowledge(manifestRow, receipt('accepted', clock.now() + 5)),
      false,
      'duplicate receipt',
    );
    const row = store.outbox.get(manifestRow)!;
    t.equal(row.state, 'acknowledged');
    t.equal(row.receipt!.at, clock.now(), 'the first receipt is kept');
    t.equal(store.manifests.get(r.manifest!.manifestId)!.syncedAt, clock.now());
    const wrongKind = t.throws(() => store.outbox.acknowledge(other, receipt('rejected', 1, 'X')));
    t.ok(isCtopError(wrongKind, 'E_STORE_INPUT'));
    t.equal(store.outbox.reject(other, receipt('rejected', clock.now(), 'SCHEMA')), true);
    t.equal(store.outbox.reject(other, receipt('rejected', clock.now(), 'SCHEMA')), false);
    t.equal(store.outbox.get(other)!.receipt!.reasonCode, 'SCHEMA');
    const late = t.throws(() => store.outbox.acknowledge(other, receipt('accepted', clock.now())));
    t.ok(isCtopError(late, 'E_STORE_OUTBOX_STATE'), 'a rejected row is not acknowledged without a requeue');
    const backwards = t.throws(() => store.outbox.reject(manifestRow, receipt('rejected', clock.now(), 'X')));
    t.ok(isCtopError(backwards, 'E_STORE_OUTBOX_STATE'));
    const missing = t.throws(() => store.outbox.acknowledge(12345, receipt('accepted', 1)));
    t.ok(isCtopError(missing, 'E_STORE_NOT_FOUND'));
    // A receipt arriving after a restart re-queued the row still settles it.
    const queued = store.outbox.enqueue('alert', Buffer.from('y'), {}, clock.now());
    t.equal(store.outbox.acknowledge(queued, receipt('accepted', clock.now())), true);
    // An operator requeues the rejected row after fixing the cause.
    store.outbox.requeue(other, clock.now());
    t.equal(store.outbox.get(other)!.state, 'queued');
    t.match(store.outbox.get(other)!.lastError, /SCHEMA/);
    const notRejected = t.throws(() => store.outbox.requeue(manifestRow, clock.now()));
    t.ok(isCtopError(notRejected, 'E_STORE_OUTBOX_STATE'));
  },
);

t.test('retryLater backs off exponentially with jitter, capped, and only from in flight', async (t) => {
  let random = 0;
  const { store, clock } = openTestStore(t, {
    backoff: { baseMs: 1000, maxMs: 10_000, random: () => random },
  });
  const id = store.outbox.enqueue('outage', Buffer.from('x'), {}, clock.now());
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const now = clock.now();
    t.equal(store.outbox.claimDue(now, 1).length, 1);
    const next = store.outbox.retryLater(id, now, `broker unreachable #${i}`);
    delays.push(next - now);
    t.same(store.outbox.claimDue(next - 1, 1), [], 'not due before its time');
    clock.set(next);
  }
  t.same(delays, [500, 1000, 2000, 4000, 5000, 5000], 'half fixed with random 0, capped at max');
  t.equal(store.outbox.get(id)!.attempts, 6);
  t.equal(store.outbox.get(id)!.lastError, 'broker unreachable #5');
  random = 0.999999;
  t.equal(backoffDelay(1, { baseMs: 1000, maxMs: 10_000, random: () => random }), 1000);
  const queued = t.throws(() => store.outbox.retryLater(id, clock.now(), 'x'));
  t.ok(isCtopError(queued, 'E_STORE_OUTBOX_STATE'), 'a queued row cannot be retried');
});

t.test('recoverInFlight puts rows a crash left in flight back in the queue', async (t) => {
  const { store, clock, path } = openTestStore(t);
  store.outbox.enqueue('outage', Buffer.from('1'), {}, clock.now());
  store.outbox.enqueue('outage', Buffer.from('2'), {}, clock.now());
  t.equal(store.outbox.claimDue(clock.now(), 10).length, 2);
  store.close();
  const { openStore } = await import('../../src/store/index.js');
  const reopened = openStore({ path, clock });
  t.teardown(() => reopened.close());
  t.equal(reopened.outbox.status(clock.now()).counts.in_flight, 2);
  t.equal(reopened.outbox.recoverInFlight(), 2);
  t.equal(reopened.outbox.claimDue(clock.now(), 10).length, 2, 'due at once');
});

t.test('status counts by state and tells the age of the oldest unacknowledged row', async (t) => {
  const { store, clock } = openTestStore(t);
  const t0 = clock.now();
  const a = store.outbox.enqueue('outage', Buffer.from('a'), {}, t0);
  clock.advance(60_000);
  const b = store.outbox.enqueue('outage', Buffer.from('b'), {}, clock.now());
  const c = store.outbox.enqueue('outage', Buffer.from('c'), {}, clock.now());
  store.outbox.enqueue('outage', Buffer.from('d'), {}, clock.now());
  store.outbox.claimDue(clock.now(), 3);
  store.outbox.acknowledge(a, receipt('accepted', clock.now()));
  store.outbox.reject(b, receipt('rejected', clock.now(), 'DUPLICATE'));
  clock.advance(5000);
  const s = store.outbox.status(clock.now());
  t.same(s.counts, { queued: 1, in_flight: 1, acknowledged: 1, rejected: 1 });
  t.equal(s.oldestUnacknowledgedAt, t0 + 60_000);
  t.equal(s.oldestUnacknowledgedAgeMs, 5000);
  t.same(s.rejected, [{ id: b, kind: 'outage', reasonCode: 'DUPLICATE', at: t0 + 60_000 }]);
  t.ok(c);
});

t.test('enqueue refuses manifest rows and non-JSON routing', async (t) => {
  const { store } = openTestStore(t);
  const m = t.throws(() => store.outbox.enqueue('manifest' as never, Buffer.from('x'), {}, 1));
  t.ok(isCtopError(m, 'E_STORE_INPUT'));
  const r = t.throws(() => store.outbox.enqueue('outage', Buffer.from('x'), { at: Number.NaN }, 1));
  t.ok(isCtopError(r, 'E_STORE_INPUT'));
});

t.test('a receipt settling several rows is stored once; every row reads back its own bytes', async (t) => {
  const { store, clock } = openTestStore(t);
  const ids = [1, 2, 3, 4].map((i) => store.outbox.enqueue('alert', Buffer.from([i]), {}, clock.now()));
  store.outbox.claimDue(clock.now(), 10);
  const shared = Buffer.from('one signed receipt answering rows 1 and 2');
  store.transaction(() => {
    store.outbox.acknowledge(ids[0]!, { bytes: shared, status: 'accepted', at: 1 });
    store.outbox.acknowledge(ids[1]!, { bytes: shared, status: 'accepted', at: 1 });
  });
  // The caller reuses its buffer for the next receipt: what row 3 stores must be the new bytes.
  shared.write('another receipt', 0);
  const changed = Buffer.from(shared);
  store.outbox.acknowledge(ids[2]!, { bytes: shared, status: 'accepted', at: 2 });
  store.outbox.reject(ids[3]!, {
    bytes: new Uint8Array(changed),
    status: 'rejected',
    reasonCode: 'X',
    at: 3,
  });
  t.same(
    ids.map((id) => Buffer.from(store.outbox.get(id)!.receipt!.bytes).toString()),
    [
      'one signed receipt answering rows 1 and 2',
      'one signed receipt answering rows 1 and 2',
      changed.toString(),
      changed.toString(),
    ],
  );
  t.equal(count(store, 'receipt'), 2, 'two distinct receipts, two stored');
  t.equal(
    store.outbox.get(ids[3]!)!.receipt!.status,
    'rejected',
    "the status is the row's, not the stored receipt's",
  );
});

t.test('shiftSchedule moves every queued row with a step of the wall clock, and nothing else', async (t) => {
  const { store, clock } = openTestStore(t, { backoff: { baseMs: 1000, maxMs: 8000 } });
  const step = -45 * 60_000;
  const t0 = clock.now();
  const inFlight = store.outbox.enqueue('outage', Buffer.from('in flight'), {}, t0);
  const settled = store.outbox.enqueue('outage', Buffer.from('settled'), {}, t0);
  const retried = store.outbox.enqueue('outage', Buffer.from('retried'), {}, t0);
  t.equal(store.outbox.claimDue(t0, 3).length, 3);
  store.outbox.acknowledge(settled, receipt('accepted', t0));
  const retryAt = store.outbox.retryLater(retried, t0, 'no receipt');
  const due = store.outbox.enqueue('outage', Buffer.from('due'), {}, t0);

  t.equal(store.outbox.shiftSchedule(step), 2, 'the two queued rows moved');
  t.equal(store.outbox.get(due)!.nextAttemptAt, t0 + step, 'a due row stays due');
  t.equal(store.outbox.get(retried)!.nextAttemptAt, retryAt + step, 'a retry keeps the wait it had left');
  t.equal(store.outbox.get(inFlight)!.nextAttemptAt, t0, 'in flight: untouched');
  t.equal(store.outbox.get(settled)!.nextAttemptAt, t0, 'acknowledged: untouched');
  t.same(
    store.outbox.claimDue(t0 + step, 10).map((r) => r.id),
    [due],
    'on the stepped clock, the due row is due and the retry is not yet',
  );
  t.same(
    store.outbox.claimDue(retryAt + step, 10).map((r) => r.id),
    [retried],
  );
  t.equal(store.outbox.shiftSchedule(0), 0, 'no step, no write');
  t.equal(store.outbox.shiftSchedule(0.2), 0);
});

t.test('rescheduleStranded: a row due later than its backoff allows is due now', async (t) => {
  const { store, clock } = openTestStore(t, { backoff: { baseMs: 1000, maxMs: 8000 } });
  const t0 = clock.now();
  const ahead = 45 * 60_000;
  // Created, and retried, on a wall clock 45 min ahead of the one the daemon starts with.
  const fresh = store.outbox.enqueue('outage', Buffer.from('fresh'), {}, t0 + ahead);
  const stranded = store.outbox.enqueue('outage', Buffer.from('stranded'), {}, t0);
  const waiting = store.outbox.enqueue('outage', Buffer.from('waiting'), {}, t0);
  t.equal(store.outbox.claimDue(t0, 10).length, 2);
  store.outbox.retryLater(stranded, t0 + ahead, 'no receipt');
  const waitingAt = store.outbox.retryLater(waiting, t0, 'no receipt');
  t.ok(waitingAt > t0 && waitingAt <= t0 + 1000, 'a retry within its backoff');

  t.equal(store.outbox.rescheduleStranded(t0), 2);
  t.equal(store.outbox.get(fresh)!.nextAttemptAt, t0, 'a row never tried is due when created');
  t.equal(store.outbox.get(stranded)!.nextAttemptAt, t0, 'beyond its backoff: due now');
  t.equal(store.outbox.get(waiting)!.nextAttemptAt, waitingAt, 'within its backoff: untouched');
  t.equal(store.outbox.rescheduleStranded(t0), 0, 'nothing left stranded');
});

t.test(
  'a sealer: its seal and messageId kept with the row; a twin gets no messageId; a failing one seals nothing',
  async (t) => {
    const { store, clock } = openTestStore(t);
    const seen: string[] = [];
    store.outbox.useSealer((row) => {
      seen.push(row.kind);
      return {
        seal: Buffer.from(`seal of ${row.payloadSha256.toString('hex')}`),
        messageId: `urn:x:${row.payloadSha256.toString('hex')}`,
      };
    });
    const payload = Buffer.from('an alert');
    const first = store.outbox.enqueue('alert', payload, {}, clock.now());
    const twin = store.outbox.enqueue('alert', payload, {}, clock.now());
    t.same(seen, ['alert', 'alert']);
    t.equal(store.outbox.get(first)!.envelopeSeal?.toString(), `seal of ${sha256(payload).toString('hex')}`);
    t.equal(store.outbox.get(first)!.messageId, `urn:x:${sha256(payload).toString('hex')}`);
    t.equal(
      store.outbox.get(twin)!.messageId,
      undefined,
      'the id is unique: the twin gets it from its claim',
    );
    t.ok(store.outbox.get(twin)!.envelopeSeal, 'the twin is sealed all the same');

    store.outbox.useSealer(() => {
      throw new Error('the key is gone');
    });
    const unsealed = store.outbox.enqueue('alert', Buffer.from('another alert'), {}, clock.now());
    const row = store.outbox.get(unsealed)!;
    t.equal(row.state, 'queued', 'the row is made');
    t.equal(row.envelopeSeal, undefined, 'without a seal: signed when sent');
    t.equal(row.messageId, undefined);
    store.outbox.useSealer(undefined);
    t.equal(
      store.outbox.get(store.outbox.enqueue('alert', Buffer.from('a third'), {}, clock.now()))!.envelopeSeal,
      undefined,
    );
  },
);

t.test("settle: one receipt's rows settled together, each row its own outcome, all or nothing", async (t) => {
  const { store, clock } = openTestStore(t);
  const locks = [new TestLock('LK-5', 5), new TestLock('LK-6', 6)];
  const reads = locks.map((lock) => ingestRecord(store, { read: lock.read() }));
  const [m1, m2] = reads.map((r) => r.outboxIds[0]!);
  const [a, b, c] = [1, 2, 3].map((i) => store.outbox.enqueue('alert', Buffer.from([i]), {}, clock.now()));
  store.outbox.claimDue(clock.now(), 10);
  store.outbox.acknowledge(a!, receipt('accepted', 1));
  store.outbox.reject(b!, receipt('rejected', 1, 'SCHEMA'));
  const bytes = Buffer.from('one receipt answering five rows');
  const at = clock.now() + 7;
  const outcomes = store.outbox.settle({ bytes, at }, [
    { id: m1!, status: 'accepted' },
    { id: a!, status: 'accepted' },
    { id: b!, status: 'accepted' },
    { id: c!, status: 'rejected', reasonCode: 'DUPLICATE' },
    { id: m2!, status: 'accepted' },
    { id: m1!, status: 'accepted' },
  ]);
  t.same(outcomes.slice(0, 2), [true, false], 'settled now; already acknowledged');
  t.ok(
    isCtopError(outcomes[2], 'E_STORE_OUTBOX_STATE'),
    'a rejected row is not acknowledged: returned, not thrown',
  );
  t.same(
    outcomes.slice(3),
    [true, true, false],
    'the others settle all the same; a second answer for a row is a duplicate',
  );
  t.same(
    [m1, m2, c].map((id) => {
      const row = store.outbox.get(id!)!;
      return [row.state, row.receipt!.status, row.receipt!.reasonCode ?? null, row.receipt!.at];
    }),
    [
      ['acknowledged', 'accepted', null, at],
      ['acknowledged', 'accepted', null, at],
      ['rejected', 'rejected', 'DUPLICATE', at],
    ],
  );
  t.equal(store.outbox.get(b!)!.state, 'rejected', 'the quarantined row untouched');
  t.equal(store.outbox.get(a!)!.receipt!.at, 1, 'the first receipt kept');
  t.same(
    reads.map((r) => store.manifests.get(r.manifest!.manifestId)!.syncedAt),
    [at, at],
    'both manifests synced',
  );
  t.equal(count(store, 'receipt'), 3, 'the receipt stored once for its rows');

  const d = store.outbox.enqueue('alert', Buffer.from([4]), {}, clock.now());
  const missing = t.throws(() =>
    store.outbox.settle({ bytes: Buffer.from('another'), at }, [
      { id: d, status: 'accepted' },
      { id: 12345, status: 'accepted' },
    ]),
  );
  t.ok(isCtopError(missing, 'E_STORE_NOT_FOUND'));
  t.equal(store.outbox.get(d)!.state, 'queued', 'an unknown id settles nothing');
  t.equal(count(store, 'receipt'), 3);
});
