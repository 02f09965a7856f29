import t from 'tap';
import { encodeCanonical } from '../../src/cbor/index.js';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { generateKey } from '../../src/keys/index.js';
import { sealBundle } from '../../src/store/bundle-format.js';
import { exportBundle, importBundle, openBundle } from '../../src/store/index.js';
import { count, inspectionFor, openTestStore, routingFor, sha256, TestLock } from '../helpers/store.js';

const gatewayKey = generateKey('gateway', 'gw-dostyk-1', { country: 'KZ' });
const otherKey = generateKey('gateway', 'gw-altynkol-1', { country: 'KZ' });
const signer = { kid: gatewayKey.kid, publicKey: gatewayKey.publicKey };

function sendingGateway(t: Parameters<typeof openTestStore>[0]) {
  const sender = openTestStore(t);
  const { store, clock } = sender;
  const good = new TestLock('LK-B1', 1).log({ kind: 1, time: 10 }, { kind: 2, time: 20 });
  const forged = new TestLock('LK-B2', 2);
  ingestRecord(store, {
    read: good.read({}, clock.now()),
    inspection: inspectionFor(good.manifest, routingFor(good.lockId)),
  });
  ingestRecord(store, {
    read: forged.read({}, clock.now()),
    inspection: inspectionFor(forged.manifest, routingFor(forged.lockId), 'bad_signature'),
  });
  const clone = new TestLock('LK-B1', 3, good.manifest); // a clone copies the genuine manifest
  ingestRecord(store, { read: clone.read({}, clock.now() + 5) });
  return { ...sender, good, forged };
}

t.test(
  'export → import moves manifests, reads, events and alerts, queued for sync on the other side',
  async (t) => {
    const a = sendingGateway(t);
    const { bundle, summary } = exportBundle(a.store, {
      since: 0,
      gatewayId: 'gw-dostyk-1',
      key: gatewayKey,
      now: a.clock.now(),
    });
    t.same(summary, { manifests: 2, reads: 3, events: 2, alerts: 2, locks: 2, purged: 0 });
    const opened = openBundle(bundle);
    t.equal(opened.signer.kid, 'gw-dostyk-1');
    t.equal(opened.contents.manifests.length, 2);

    const b = openTestStore(t);
    const result = importBundle(b.store, bundle, { trustedSigner: signer, now: b.clock.now() });
    t.equal(result.alreadyImported, false);
    t.same(result.manifests, { new: 2, seen: 0 });
    t.same(result.reads, { new: 3, seen: 0 });
    t.same(result.events, { new: 2, seen: 0, conflicts: 0, skipped: 0 });
    t.same(result.alerts, { new: 2, seen: 1 }, 'the bad-signature alert arrives twice: re-raised and listed');
    const id = sha256(a.good.manifest).toString('hex');
    t.ok(
      b.store.manifests.bytes(id)!.equals(a.good.manifest),
      'bytes exactly as read on the sending gateway',
    );
    t.equal(b.store.manifests.get(id)!.verification, 'valid');
    t.match(
      b.store.manifests.get(sha256(a.forged.manifest).toString('hex'))!.verificationDetail,
      /as verified by gateway gw-dostyk-1/,
    );
    t.ok(
      b.store.locks.get('LK-B1')!.identityKey!.equals(a.good.identityKey),
      'the lock key pinned as imported',
    );
    t.equal(b.store.locks.get('LK-B1')!.pinnedBy, 'imported');
    t.same(
      b.store.events.list('LK-B1').map((e) => e.counter),
      [1, 2],
    );
    t.same(
      b.store.alerts.forLock('LK-B1').map((x) => x.kind),
      a.store.alerts.forLock('LK-B1').map((x) => x.kind),
    );
    t.same(b.store.db.prepare('SELECT kind, count(*) AS n FROM outbox GROUP BY kind ORDER BY kind').all(), [
      { kind: 'alert', n: 2 },
      { kind: 'lock_events', n: 1 },
      { kind: 'manifest', n: 2 },
    ]);
    t.equal(b.store.outbox.get(result.outboxIds[0]!)!.routing.importedFrom, 'gw-dostyk-1');

    const again = importBundle(b.store, bundle, { trustedSigner: signer, now: b.clock.now() });
    t.equal(again.alreadyImported, true, 'the same file twice');
    // A later, overlapping bundle: only what is new arrives.
    const more = new TestLock('LK-B3', 4);
    ingestRecord(a.store, { read: more.read({}, a.clock.now() + 60_000) });
    const second = exportBundle(a.store, {
      since: 0,
      gatewayId: 'gw-dostyk-1',
      key: gatewayKey,
      now: a.clock.now() + 1,
    }).bundle;
    const overlap = importBundle(b.store, second, { trustedSigner: signer, now: b.clock.now() });
    t.same(overlap.manifests, { new: 1, seen: 2 });
    t.same(overlap.reads, { new: 1, seen: 3 });
    t.same(overlap.alerts, { new: 0, seen: 2 });
    t.equal(count(b.store, 'manifest'), 3);
    t.same(b.store.db.pragma('foreign_key_check'), []);

    // Importing one's own bundle changes nothing.
    const own = importBundle(a.store, second, { trustedSigner: signer, now: a.clock.now() });
    t.same([own.manifests.new, own.reads.new, own.events.new, own.alerts.new], [0, 0, 0, 0]);
  },
);

t.test('an altered, foreign or malformed bundle is refused before anything is stored', async (t) => {
  const a = sendingGateway(t);
  const { bundle } = exportBundle(a.store, { since: 0, gatewayId: 'gw-dostyk-1', key: gatewayKey, now: 1 });
  const b = openTestStore(t);
  const altered = Buffer.from(bundle);
  altered[Math.floor(altered.length / 2)]! ^= 0x01;
  const e1 = t.throws(() => importBundle(b.store, altered, { trustedSigner: signer, now: 1 }));
  t.ok(isCtopError(e1, 'E_BUNDLE_SIGNATURE') || isCtopError(e1, 'E_BUNDLE_FORMAT'), (e1 as Error).message);
  const e2 = t.throws(() =>
    importBundle(b.store, bundle, {
      trustedSigner: { kid: otherKey.kid, publicKey: otherKey.publicKey },
      now: 1,
    }),
  );
  t.ok(isCtopError(e2, 'E_BUNDLE_SIGNATURE'), 'signed by another key than the trusted one');
  const e3 = t.throws(() =>
    importBundle(b.store, Buffer.from('not a bundle at all'), { trustedSigner: signer, now: 1 }),
  );
  t.ok(isCtopError(e3, 'E_BUNDLE_FORMAT'));
  // Validly signed, but a manifest's bytes do not match its id.
  const contents = openBundle(bundle).contents;
  contents.manifests[0]!.bytes = Buffer.from('swapped');
  const e4 = t.throws(() =>
    importBundle(b.store, sealBundle(contents, gatewayKey), { trustedSigner: signer, now: 1 }),
  );
  t.ok(isCtopError(e4, 'E_BUNDLE_FORMAT'));
  // Validly signed, but not our schema.
  const e5 = t.throws(() =>
    importBundle(b.store, sealBundle({ ...contents, reads: [{ nonsense: 1 }] } as never, gatewayKey), {
      trustedSigner: signer,
      now: 1,
    }),
  );
  t.ok(isCtopError(e5, 'E_BUNDLE_FORMAT'));
  const e6 = t.throws(() => openBundle(encodeCanonical({ format: 'ctop-agent-bundle/1' })));
  t.ok(isCtopError(e6, 'E_BUNDLE_FORMAT'));
  t.equal(count(b.store, 'manifest') + count(b.store, 'lock_read') + count(b.store, 'bundle_import'), 0);
});

t.test(
  'a bundle carrying another key for a pinned lock raises a clone alert and merges none of its events',
  async (t) => {
    const a = sendingGateway(t);
    const { bundle } = exportBundle(a.store, { since: 0, gatewayId: 'gw-dostyk-1', key: gatewayKey, now: 1 });
    const b = openTestStore(t, { trustOnFirstUse: false });
    const other = new TestLock('LK-B1', 9);
    b.store.locks.provision([{ lockId: 'LK-B1', identityKey: other.identityKey }], 1);
    const r = importBundle(b.store, bundle, { trustedSigner: signer, now: 1 });
    t.equal(r.events.skipped, 2);
    t.equal(count(b.store, 'lock_event'), 0);
    t.ok(
      b.store.alerts
        .forLock('LK-B1')
        .some((x) => x.kind === 'clone' && /bundle from gw-dostyk-1/.test(x.detail)),
    );
  },
);

t.test('the importing side can re-inspect manifests with its own trust store', async (t) => {
  const a = sendingGateway(t);
  const { bundle } = exportBundle(a.store, { since: 0, gatewayId: 'gw-dostyk-1', key: gatewayKey, now: 1 });
  const b = openTestStore(t);
  const r = importBundle(b.store, bundle, {
    trustedSigner: signer,
    now: 1,
    inspect: (bytes) =>
      inspectionFor(bytes, routingFor('LK-B1'), 'unknown_signer', 'signer not in this trust store'),
  });
  t.same(r.manifests, { new: 2, seen: 0 });
  t.equal(b.store.manifests.list({ status: 'unknown_signer' }).length, 2);
  t.ok(r.alerts.new >= 2);
});
