import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { count, inspectionFor, openTestStore, routingFor, sha256, TestLock } from '../helpers/store.js';

const T0 = Date.UTC(2025, 2, 14, 8, 30);

t.test('a first complete read stores lock, read, manifest, events and outbox rows in one go', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0001', 1).log(
    { kind: 1, time: 1_741_900_000 },
    { kind: 2, time: 1_741_900_100 },
  );
  const read = lock.read();
  const r = ingestRecord(store, { read, inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)) });
  t.equal(r.duplicate, false);
  t.equal(r.trust, 'trusted');
  t.equal(r.pinned, true, 'pinned on first use');
  t.same(r.manifest, { manifestId: sha256(lock.manifest).toString('hex'), new: true, verification: 'valid' });
  t.same(r.events, { new: 2, seen: 0, conflicts: 0 });
  t.same(r.alerts, []);
  t.equal(r.outboxIds.length, 2, 'a manifest row and an events row');
  const pinned = store.locks.get('LK-0001')!;
  t.equal(pinned.pinnedBy, 'tofu');
  t.ok(pinned.identityKey!.equals(lock.identityKey));
  t.equal(pinned.lastReadId, r.readId);
  t.equal(pinned.battery, 87);
  t.equal(pinned.manifestId, r.manifest!.manifestId);
  t.ok(store.manifests.bytes(r.manifest!.manifestId)!.equals(lock.manifest), 'bytes exactly as read');
  const m = store.manifests.get(r.manifest!.manifestId)!;
  t.equal(m.routing?.container, 'MSCU1234565');
  t.equal(m.lockId, 'LK-0001');
  const rows = r.outboxIds.map((id) => store.outbox.get(id)!);
  t.same(
    rows.map((o) => [o.kind, o.state]),
    [
      ['manifest', 'queued'],
      ['lock_events', 'queued'],
    ],
  );
  t.ok(rows[0]!.payload!.equals(lock.manifest), 'manifest row carries the manifest bytes');
  t.equal(
    count(store, 'outbox', 'payload IS NOT NULL AND manifest_id IS NOT NULL'),
    0,
    'stored once, not copied',
  );
  t.equal(rows[0]!.routing.container, 'MSCU1234565');
  t.same(
    store.events.list('LK-0001').map((e) => e.counter),
    [1, 2],
  );
});

t.test('reading the same lock again adds a read record, no duplicate manifest or events', async (t) => {
  const { store, clock } = openTestStore(t);
  const lock = new TestLock('LK-0002', 2).log({ kind: 1, time: 1 });
  const inspection = inspectionFor(lock.manifest, routingFor(lock.lockId));
  const first = ingestRecord(store, { read: lock.read({}, T0), inspection });
  clock.advance(60_000);
  lock.log({ kind: 3, time: 2 });
  const second = ingestRecord(store, { read: lock.read({}, T0 + 60_000), inspection });
  t.not(second.readId, first.readId);
  t.equal(second.manifest!.new, false);
  t.equal(second.manifest!.manifestId, first.manifest!.manifestId);
  t.same(second.events, { new: 1, seen: 1, conflicts: 0 });
  t.equal(count(store, 'manifest'), 1);
  t.equal(count(store, 'manifest_payload'), 1);
  t.equal(count(store, 'lock_read'), 2);
  t.equal(count(store, 'outbox', "kind = 'manifest'"), 1);
  t.equal(count(store, 'outbox', "kind = 'lock_events'"), 2, 'only the new event travels again');
  const again = ingestRecord(store, { read: lock.read({}, T0 + 60_000), inspection });
  t.equal(again.duplicate, true, 'the very same read handed over twice');
  t.equal(again.readId, second.readId);
  t.equal(count(store, 'lock_read'), 2);
  t.same(again.outboxIds, []);
});

t.test('a provisioned key is trusted; trust on first use off leaves unknown locks as evidence', async (t) => {
  const { store } = openTestStore(t, { trustOnFirstUse: false });
  const known = new TestLock('LK-0003', 3);
  const stranger = new TestLock('LK-0004', 4).log({ kind: 1, time: 5 });
  t.same(store.locks.provision([{ lockId: known.lockId, identityKey: known.identityKey }], T0), {
    pinned: 1,
    unchanged: 0,
  });
  t.same(store.locks.provision([{ lockId: known.lockId, identityKey: known.identityKey }], T0), {
    pinned: 0,
    unchanged: 1,
  });
  const err = t.throws(() =>
    store.locks.provision([{ lockId: known.lockId, identityKey: stranger.identityKey }], T0),
  );
  t.ok(isCtopError(err, 'E_STORE_PIN_CONFLICT'), 'a provisioned key never silently replaces a pinned one');

  const ok = ingestRecord(store, { read: known.read() });
  t.equal(ok.trust, 'trusted');
  t.equal(ok.pinned, false);
  const unknown = ingestRecord(store, { read: stranger.read() });
  t.equal(unknown.trust, 'unknown_lock');
  t.same(
    unknown.alerts.map((a) => a.kind),
    ['unknown_lock'],
  );
  t.notOk(store.locks.get(stranger.lockId)!.identityKey, 'not pinned');
  t.equal(count(store, 'lock_event', `lock_id = '${stranger.lockId}'`), 0, 'events not merged');
  t.ok(store.reads.get(unknown.readId)!.evidence, 'events kept with the read as evidence');
  t.equal(unknown.manifest!.new, true, 'the manifest is kept as evidence');

  // Provisioning later pins it; from then on its reads are trusted.
  store.locks.provision([{ lockId: stranger.lockId, identityKey: stranger.identityKey }], T0);
  const later = ingestRecord(store, { read: stranger.read({}, T0 + 1000) });
  t.equal(later.trust, 'trusted');
  t.equal(later.events.new, 1);
});

t.test('a lock presenting another key is a clone: alert raised, read kept, nothing trusted', async (t) => {
  const { store } = openTestStore(t);
  const genuine = new TestLock('LK-0005', 5).log({ kind: 1, time: 10 });
  ingestRecord(store, { read: genuine.read({}, T0) });
  const clone = new TestLock('LK-0005', 6).log({ kind: 1, time: 10 }, { kind: 2, time: 11 });
  const r = ingestRecord(store, { read: clone.read({}, T0 + 5000) });
  t.equal(r.trust, 'clone');
  t.same(
    r.alerts.map((a) => [a.kind, a.new, a.lockId]),
    [['clone', true, 'LK-0005']],
  );
  t.match(r.alerts[0]!.detail, /presented identity key/);
  t.ok(store.locks.get('LK-0005')!.identityKey!.equals(genuine.identityKey), 'pinned key unchanged');
  t.same(
    store.events.list('LK-0005').map((e) => e.hash.toString('hex')),
    [Buffer.from(genuine.events[0]!.hash).toString('hex')],
  );
  t.equal(store.locks.get('LK-0005')!.lastReadId, 1, 'lock fields only from trusted reads');
  t.equal(count(store, 'outbox', "kind = 'alert'"), 1);
  const alertRow = store.outbox.get(r.outboxIds.at(-1)!)!;
  t.equal(alertRow.routing.alertKind, 'clone');
  // Reading the clone again: the same incident, one more occurrence, no second outbox row.
  const again = ingestRecord(store, { read: clone.read({}, T0 + 9000) });
  t.same(
    again.alerts.map((a) => [a.kind, a.new]),
    [['clone', false]],
  );
  t.equal(count(store, 'outbox', "kind = 'alert'"), 1);
  t.equal(store.alerts.forLock('LK-0005')[0]!.occurrences, 2);
});

t.test('a lock that fails AUTH is a clone even with the right key', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0006', 7);
  ingestRecord(store, { read: lock.read({}, T0) });
  const r = ingestRecord(store, {
    read: lock.read(
      {
        outcome: 'failed',
        authenticated: false,
        error: { code: 'E_LOCK_CLONED', message: 'bad AUTH signature' },
        manifest: undefined,
        events: [],
      },
      T0 + 1000,
    ),
  });
  t.equal(r.trust, 'clone');
  t.same(
    r.alerts.map((a) => a.kind),
    ['clone'],
  );
  const timeout = ingestRecord(store, {
    read: lock.read(
      {
        outcome: 'failed',
        authenticated: false,
        error: { code: 'E_LOCK_TIMEOUT', message: 'no answer' },
        manifest: undefined,
        events: [],
      },
      T0 + 2000,
    ),
  });
  t.equal(timeout.trust, 'unauthenticated');
  t.same(timeout.alerts, [], 'a timeout before AUTH is not an alert');
});

t.test(
  'a manifest that does not verify is stored as evidence, flagged, alerted, never listed as valid',
  async (t) => {
    const { store } = openTestStore(t);
    for (const [i, status] of (
      ['bad_signature', 'unknown_signer', 'expired', 'revoked', 'malformed'] as const
    ).entries()) {
      const lock = new TestLock(`LK-01${i}`, 10 + i);
      const routing = status === 'malformed' ? undefined : routingFor(lock.lockId, { container: `CONT${i}` });
      const r = ingestRecord(store, {
        read: lock.read(),
        inspection: inspectionFor(lock.manifest, routing, status, 'why'),
      });
      t.equal(r.manifest!.verification, status);
      t.same(
        r.alerts.map((a) => [a.kind, a.manifestId]),
        [[status, r.manifest!.manifestId]],
      );
      t.ok(store.manifests.bytes(r.manifest!.manifestId), 'bytes kept as evidence');
    }
    t.equal(store.manifests.list({ status: 'valid' }).length, 0);
    t.equal(store.manifests.list({ status: 'flagged' }).length, 5);
    t.equal(store.manifests.list({ status: 'revoked' })[0]!.alerts, 1);
  },
);

t.test(
  'without an inspection a manifest is stored unverified, and a later inspection updates it',
  async (t) => {
    const { store } = openTestStore(t);
    const lock = new TestLock('LK-0007', 8);
    const r = ingestRecord(store, { read: lock.read({}, T0) });
    t.equal(r.manifest!.verification, 'unverified');
    t.same(r.alerts, []);
    t.equal(store.manifests.list({ status: 'valid' }).length, 0);
    const later = ingestRecord(store, {
      read: lock.read({}, T0 + 1),
      inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)),
    });
    t.equal(later.manifest!.verification, 'valid');
    t.equal(store.manifests.get(r.manifest!.manifestId)!.routing?.wagon, '52345679');
    // The trust store changed: the signer key is revoked now.
    const revoked = ingestRecord(store, {
      read: lock.read({}, T0 + 2),
      inspection: inspectionFor(lock.manifest, routingFor(lock.lockId), 'revoked', 'key compromise'),
    });
    t.same(
      revoked.alerts.map((a) => a.kind),
      ['revoked'],
    );
    t.equal(store.manifests.get(r.manifest!.manifestId)!.verification, 'revoked');
  },
);

t.test('a manifest naming another lock raises a tamper alert', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0008', 9);
  const r = ingestRecord(store, {
    read: lock.read(),
    inspection: inspectionFor(lock.manifest, routingFor('LK-9999')),
  });
  t.same(
    r.alerts.map((a) => a.kind),
    ['tamper'],
  );
  t.match(r.alerts[0]!.detail, /names lock LK-9999/);
});

t.test('a rewritten event log: changed counter and chain problems become tamper alerts', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0009', 20).log({ kind: 1, time: 100 }, { kind: 2, time: 200 });
  ingestRecord(store, { read: lock.read({}, T0) });
  // The firmware (or an attacker with the key) rewrites entry 2 and appends 3.
  const rewritten = new TestLock('LK-0009', 20).log(
    { kind: 1, time: 100 },
    { kind: 7, time: 250 },
    { kind: 2, time: 300 },
  );
  const r = ingestRecord(store, { read: rewritten.read({}, T0 + 1000) });
  t.equal(r.trust, 'trusted');
  t.same(r.events, { new: 1, seen: 1, conflicts: 1 });
  const tamper = r.alerts.filter((a) => a.kind === 'tamper');
  t.equal(tamper.length, 1);
  t.match(tamper[0]!.detail, /event 2 differs/);
  t.equal(store.events.get('LK-0009', 2)!.kind, 2, 'the first stored version stays');

  // Entries removed from the middle: the verifier reports a gap and a broken link.
  const gappy = new TestLock('LK-0010', 21).log(
    { kind: 1, time: 1 },
    { kind: 1, time: 2 },
    { kind: 1, time: 3 },
  );
  const withGap = gappy.read({ events: [gappy.events[0]!, gappy.events[2]!] });
  t.ok(withGap.chainProblems.length >= 2);
  const g = ingestRecord(store, { read: withGap });
  t.same(
    g.alerts.map((a) => a.kind),
    withGap.chainProblems.map(() => 'tamper'),
  );
  t.match(g.alerts.map((a) => a.detail).join('\n'), /gap at counter 3/);
});

t.test('alerts handed over by the caller are stored and queued, deduplicated by subject', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0011', 22);
  const alert = {
    kind: 'lock_opened',
    lockId: lock.lockId,
    subject: 'event:4',
    detail: 'the lock logged an opening at 03:12',
  };
  const r = ingestRecord(store, { read: lock.read({}, T0), alerts: [alert] });
  t.same(
    r.alerts.map((a) => [a.kind, a.new]),
    [['lock_opened', true]],
  );
  const again = ingestRecord(store, { read: lock.read({}, T0 + 1), alerts: [alert] });
  t.same(
    again.alerts.map((a) => [a.kind, a.new]),
    [['lock_opened', false]],
  );
  const bad = t.throws(() =>
    ingestRecord(store, { read: lock.read({}, T0 + 2), alerts: [{ kind: 'Bad Kind!', detail: 'x' }] }),
  );
  t.ok(isCtopError(bad, 'E_STORE_INPUT'));
  t.equal(count(store, 'lock_read'), 2, 'the refused ingest stored nothing');
});

t.test('a manifest hash failure reported by the reader is a tamper alert', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0012', 23);
  const r = ingestRecord(store, {
    read: lock.read({
      outcome: 'failed',
      error: { code: 'E_LOCK_HASH', message: 'mismatch' },
      manifest: undefined,
    }),
  });
  t.same(
    r.alerts.map((a) => a.kind),
    ['tamper'],
  );
  t.equal(r.manifest, undefined);
});

t.test('a failed read without a lock is recorded', async (t) => {
  const { store } = openTestStore(t);
  const r = ingestRecord(store, {
    read: {
      gatewayId: 'gw-1',
      transport: 'unknown',
      endpoint: '',
      startedAt: T0,
      finishedAt: T0 + 10,
      outcome: 'failed',
      error: { code: 'E_TRANSPORT_OPEN', message: 'no such device' },
      authenticated: false,
      events: [],
      chainProblems: [],
      stats: { bytesRead: 0, frames: 0, retries: 0, resumes: 0, crcErrors: 0 },
    },
  });
  t.equal(r.trust, 'no_lock');
  t.equal(store.reads.get(r.readId)!.errorCode, 'E_TRANSPORT_OPEN');
});

t.test('read checkpoints: saved, loaded, cleared by a complete ingest of that lock', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0013', 24, new Uint8Array(4096).fill(7));
  const cp = {
    lockId: lock.lockId,
    manifestHash: sha256(lock.manifest),
    size: 4096,
    prefix: lock.manifest.subarray(0, 1024),
  };
  store.saveReadCheckpoint(cp);
  store.saveReadCheckpoint({ ...cp, prefix: lock.manifest.subarray(0, 2048) });
  const loaded = store.loadReadCheckpoint(lock.lockId)!;
  t.equal(loaded.size, 4096);
  t.equal(loaded.prefix.byteLength, 2048, 'the newer checkpoint replaced the older');
  t.ok(Buffer.from(loaded.manifestHash).equals(cp.manifestHash));
  t.equal(store.loadReadCheckpoint('LK-none'), undefined);
  ingestRecord(store, {
    read: lock.read({
      outcome: 'failed',
      error: { code: 'E_LOCK_TIMEOUT', message: 'x' },
      manifest: undefined,
    }),
  });
  t.ok(store.loadReadCheckpoint(lock.lockId), 'a failed read keeps it');
  ingestRecord(store, { read: lock.read({}, T0 + 10) });
  t.equal(store.loadReadCheckpoint(lock.lockId), undefined);
});

t.test('records that break the interface are refused whole with E_STORE_INPUT', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0014', 25);
  const good = lock.read();
  const cases: [string, unknown][] = [
    ['short key', { ...good, lock: { ...good.lock!, identityKey: new Uint8Array(31) } }],
    ['manifest not matching the announced hash', { ...good, manifest: new Uint8Array([1, 2, 3]) }],
    ['finished before started', { ...good, finishedAt: good.startedAt - 1 }],
    ['transport', { ...good, transport: 'carrier-pigeon' }],
    [
      'event sig length',
      {
        ...good,
        events: [
          {
            counter: 1,
            time: 1,
            kind: 1,
            detail: new Uint8Array(),
            prev: new Uint8Array(32),
            sig: new Uint8Array(3),
            hash: new Uint8Array(32),
          },
        ],
      },
    ],
  ];
  for (const [name, read] of cases) {
    const err = t.throws(() => ingestRecord(store, { read: read as never }), name);
    t.ok(isCtopError(err, 'E_STORE_INPUT'), name);
  }
  const wrongId = t.throws(() =>
    ingestRecord(store, {
      read: good,
      inspection: { ...inspectionFor(good.manifest!, undefined), manifestId: '00'.repeat(32) },
    }),
  );
  t.ok(isCtopError(wrongId, 'E_STORE_INPUT'));
  const unknownManifest = t.throws(() =>
    ingestRecord(store, { read: good, alerts: [{ kind: 'x', detail: 'y', manifestId: 'ab'.repeat(32) }] }),
  );
  t.ok(isCtopError(unknownManifest, 'E_STORE_INPUT'), 'an alert naming a manifest that is not stored');
  t.equal(count(store, 'lock_read'), 0);
  t.equal(count(store, 'lock'), 0);
});

t.test('unusable routing fields or an overlong alert never cost the read', async (t) => {
  const { store } = openTestStore(t);
  const lock = new TestLock('LK-0015', 26);
  const inspection = inspectionFor(
    lock.manifest,
    routingFor(lock.lockId, { container: 'X'.repeat(500) }),
    'bad_signature',
  );
  const r = ingestRecord(store, {
    read: lock.read(),
    inspection,
    alerts: [{ kind: 'lock_opened', lockId: lock.lockId, detail: 'y'.repeat(10_000) }],
  });
  const m = store.manifests.get(r.manifest!.manifestId)!;
  t.equal(m.routing?.container, undefined, 'stored without the unusable routing fields');
  t.equal(m.verification, 'bad_signature', 'the verdict is kept');
  t.ok(store.manifests.bytes(m.manifestId)!.equals(lock.manifest));
  t.equal(store.alerts.forLock(lock.lockId).find((a) => a.kind === 'lock_opened')!.detail.length, 4096);
});
