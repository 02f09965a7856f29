import t from 'tap';
import { decodeToObjects } from '../../src/cbor/index.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { TrustStore } from '../../src/keys/index.js';
import { inspectManifest } from '../../src/manifest/index.js';
import { count, openTestStore, TestLock } from '../helpers/store.js';
import { fixtureManifest, ingestManifest } from '../helpers/sync-world.js';
import { FIXTURE_TRUST_STORE } from '../helpers/test-keys.js';

/**
 * A customs signer revoked after its manifests were stored: those created at or after
 * revokedAt become revoked with one alert each queued for the exchange; earlier ones stay
 * valid; applying the same revocation again changes nothing.
 */

// cn-customs-signer-1 signed these at 2025-03-11, 2025-04-02 and 2025-06-03.
const BEFORE = 'electronics-xian-duisburg.cose';
const AFTER = ['auto-parts-chongqing-almaty.cose', 'consolidated-300.cose'];
const REVOKED_AT = Date.parse('2025-04-01T00:00:00Z');
const REVOKED = [{ kid: 'cn-customs-signer-1', revokedAt: REVOKED_AT, reason: 'key compromise' }];

function storeWithManifests(t: Parameters<typeof openTestStore>[0]) {
  const opened = openTestStore(t);
  const trust = TrustStore.load(FIXTURE_TRUST_STORE);
  const ids = new Map<string, string>();
  [BEFORE, ...AFTER].forEach((name, i) => {
    const bytes = fixtureManifest(name);
    ingestManifest(opened.store, bytes, trust, i + 1);
    ids.set(name, inspectManifest(bytes, trust).manifestId);
  });
  return { ...opened, trust, ids };
}

t.test('manifests created from revokedAt on are flagged, earlier ones stay valid', async (t) => {
  const { store, clock, ids } = storeWithManifests(t);
  for (const id of ids.values()) t.equal(store.manifests.get(id)!.verification, 'valid', 'valid when stored');
  const verifiedAt = store.manifests.get(ids.get(AFTER[0]!)!)!.verifiedAt!;
  const alertRowsBefore = count(store, 'outbox', "kind = 'alert'");

  clock.advance(60_000);
  const flagged = store.revocations.apply(REVOKED, 'gw-dostyk-1', clock.now());
  t.same(
    flagged.map((f) => f.manifestId).sort(),
    AFTER.map((n) => ids.get(n)).sort(),
    'exactly the two after',
  );
  t.equal(store.manifests.get(ids.get(BEFORE)!)!.verification, 'valid', 'created before revokedAt: valid');
  for (const name of AFTER) {
    const m = store.manifests.get(ids.get(name)!)!;
    t.equal(m.verification, 'revoked', `${name} revoked`);
    t.match(
      m.verificationDetail,
      /key cn-customs-signer-1 revoked at 2025-04-01T00:00:00.000Z \(key compromise\)/,
    );
    t.match(m.verificationDetail, new RegExp(`verified valid at ${new Date(verifiedAt).toISOString()}`));
    const alerts = store.alerts.forManifest(m.manifestId).filter((a) => a.kind === 'revoked');
    t.equal(alerts.length, 1, `one revoked alert for ${name}`);
    t.equal(alerts[0]!.lockId, m.lockId, 'tied to the lock it was read from');
  }
  t.equal(
    count(store, 'outbox', "kind = 'alert'"),
    alertRowsBefore + 2,
    'two alerts queued for the exchange',
  );
  const row = store.db
    .prepare("SELECT payload FROM outbox WHERE kind = 'alert' ORDER BY outbox_id DESC LIMIT 1")
    .get() as { payload: Buffer };
  t.match(decodeToObjects(row.payload), {
    kind: 'revoked',
    signerKid: 'cn-customs-signer-1',
    revokedAt: REVOKED_AT,
    gatewayId: 'gw-dostyk-1',
  });
  const routings = store.db
    .prepare("SELECT manifest_id, routing FROM outbox WHERE kind = 'manifest'")
    .all() as { manifest_id: string; routing: string }[];
  for (const r of routings) {
    const expected = r.manifest_id === ids.get(BEFORE) ? 'valid' : 'revoked';
    t.equal(JSON.parse(r.routing).verification, expected, 'a queued manifest goes out saying what is known');
  }

  clock.advance(60_000);
  t.same(store.revocations.apply(REVOKED, 'gw-dostyk-1', clock.now()), [], 'applied again: nothing new');
  t.equal(count(store, 'outbox', "kind = 'alert'"), alertRowsBefore + 2, 'no second alert');
  t.equal(count(store, 'alert', "kind = 'revoked'"), 2);
  t.equal(
    (
      store.db.prepare("SELECT max(occurrences) AS n FROM alert WHERE kind = 'revoked'").get() as {
        n: number;
      }
    ).n,
    1,
    'not even a second occurrence',
  );
});

t.test('a re-read after the revocation counts an occurrence of the same alert', async (t) => {
  const { store, clock, ids } = storeWithManifests(t);
  const flagged = store.revocations.apply(REVOKED, 'gw-dostyk-1', clock.now());
  const target = flagged.find((f) => f.manifestId === ids.get(AFTER[0]!))!;
  const revokedTrust = TrustStore.load(FIXTURE_TRUST_STORE);
  revokedTrust.revoke('cn-customs-signer-1', REVOKED_AT, 'key compromise');
  const bytes = fixtureManifest(AFTER[0]!);
  const inspection = inspectManifest(bytes, revokedTrust);
  t.equal(inspection.verification.status, 'revoked', 'a read now is revoked by itself');
  clock.advance(1000);
  const alertRows = count(store, 'outbox', "kind = 'alert'");
  // Seed 2 is the lock ingestManifest read it from in storeWithManifests.
  const lock = new TestLock(target.lockId!, 2, bytes);
  const result = ingestRecord(store, { read: lock.read({}, clock.now()), inspection });
  t.equal(result.duplicate, false, 'a new read');
  const revoked = result.alerts.find((a) => a.kind === 'revoked')!;
  t.equal(revoked.alertId, target.alertId, 'the alert of the revocation');
  t.equal(revoked.new, false, 'not a new one');
  t.equal(count(store, 'outbox', "kind = 'alert'"), alertRows, 'nothing more queued');
});

t.test(
  'a signer revoked before every manifest it signed, or one with no manifests: nothing flagged',
  async (t) => {
    const { store, clock, ids } = storeWithManifests(t);
    t.same(
      store.revocations.apply(
        [{ kid: 'cn-customs-signer-1', revokedAt: Date.parse('2025-12-01T00:00:00Z') }],
        'gw-dostyk-1',
        clock.now(),
      ),
      [],
    );
    t.same(
      store.revocations.apply([{ kid: 'kz-customs-signer-1', revokedAt: 0 }], 'gw-dostyk-1', clock.now()),
      [],
    );
    for (const id of ids.values()) t.equal(store.manifests.get(id)!.verification, 'valid');
  },
);

t.test("revokedAt equal to a manifest's createdAt revokes it (at or after)", async (t) => {
  const { store, clock, ids } = storeWithManifests(t);
  const flagged = store.revocations.apply(
    [{ kid: 'cn-customs-signer-1', revokedAt: Date.parse('2025-06-03T01:20:00Z') }],
    'gw-dostyk-1',
    clock.now(),
  );
  t.same(
    flagged.map((f) => f.manifestId),
    [ids.get('consolidated-300.cose')],
  );
});
