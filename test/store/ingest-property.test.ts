import fc from 'fast-check';
import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import type { LockReadRecord, VerificationStatus } from '../../src/store/index.js';
import { count, inspectionFor, openTestStore, routingFor, sha256, TestLock } from '../helpers/store.js';

// Keys and signatures are slow in tweetnacl: the cast is made once, the property picks from it.
const genuine = [0, 1, 2].map((i) =>
  new TestLock(`LK-P${i}`, 40 + i).log(...[1, 2, 3, 4].map((e) => ({ kind: e, time: e }))),
);
const clones = [0, 1, 2].map((i) =>
  new TestLock(`LK-P${i}`, 80 + i).log(...[1, 2].map((e) => ({ kind: e, time: e }))),
);
const manifests = [0, 1, 2, 3].map((i) => Buffer.alloc(200 + i * 50, i + 1));
const STATUSES: (VerificationStatus | 'none')[] = [
  'valid',
  'valid',
  'bad_signature',
  'unknown_signer',
  'revoked',
  'none',
];

const readArb = fc.record({
  lock: fc.integer({ min: 0, max: 2 }),
  clone: fc.boolean(),
  manifest: fc.integer({ min: -1, max: 3 }),
  events: fc.integer({ min: 0, max: 4 }),
  authenticated: fc.boolean(),
  status: fc.constantFrom(...STATUSES),
  at: fc.integer({ min: 0, max: 50 }),
});

t.test('any sequence of reads: no duplicates, nothing lost, nothing untrusted merged', async (t) => {
  fc.assert(
    fc.property(fc.array(readArb, { minLength: 1, maxLength: 25 }), fc.boolean(), (ops, tofu) => {
      const { store } = openTestStore(t, { trustOnFirstUse: tofu });
      try {
        if (!tofu)
          store.locks.provision(
            genuine.map((g) => ({ lockId: g.lockId, identityKey: g.identityKey })),
            0,
          );
        const uids = new Set<string>();
        const seenManifests = new Set<string>();
        const lastStatus = new Map<string, string>();
        const cloneReads = new Set<string>();
        for (const op of ops) {
          const lock = (op.clone ? clones : genuine)[op.lock]!;
          const bytes = op.manifest >= 0 ? manifests[op.manifest]! : undefined;
          const read: LockReadRecord = lock.read(
            // Chain verification is the lock layer's (and slow in tweetnacl): not re-run here.
            {
              manifest: bytes,
              events: lock.events.slice(0, op.events),
              authenticated: op.authenticated,
              chainProblems: [],
            },
            Date.UTC(2025, 0, 1) + op.at * 1000,
          );
          const inspection =
            bytes && op.status !== 'none'
              ? inspectionFor(bytes, routingFor(lock.lockId), op.status)
              : undefined;
          const r = ingestRecord(store, { read, ...(inspection ? { inspection } : {}) });
          uids.add(r.readUid);
          // The very same read again adds nothing, not even a new inspection.
          if (bytes && !r.duplicate) {
            const id = sha256(bytes).toString('hex');
            seenManifests.add(id);
            if (inspection) lastStatus.set(id, inspection.verification.status);
            else if (!lastStatus.has(id)) lastStatus.set(id, 'unverified');
          }
          if (r.trust === 'clone') cloneReads.add(lock.lockId);
          // Only the pinned key is ever trusted (with trust on first use: whichever came first).
          const pinned = store.locks.get(lock.lockId)?.identityKey;
          if (r.trust === 'trusted' && !pinned?.equals(lock.identityKey)) return false;
          if (!tofu && op.clone && r.trust === 'trusted') return false;
        }
        if (count(store, 'lock_read') !== uids.size) return false;
        if (count(store, 'manifest') !== seenManifests.size) return false;
        if (count(store, 'manifest_payload') !== seenManifests.size) return false;
        if (count(store, 'outbox', "kind = 'manifest'") !== seenManifests.size) return false;
        for (const [id, status] of lastStatus) {
          if (store.manifests.get(id)!.verification !== status) return false;
        }
        // Only the chain of the pinned key is ever stored.
        for (const [i, g] of genuine.entries()) {
          const pinned = store.locks.get(g.lockId)?.identityKey;
          const owner = pinned?.equals(g.identityKey) ? g : clones[i]!;
          for (const e of store.events.list(g.lockId)) {
            if (!e.hash.equals(owner.events[e.counter - 1]!.hash)) return false;
          }
        }
        for (const lockId of cloneReads) {
          if (!store.alerts.forLock(lockId).some((a) => a.kind === 'clone')) return false;
        }
        // One alert row per incident, one outbox row per alert.
        if (count(store, 'alert') !== count(store, 'outbox', "kind = 'alert'")) return false;
        return (store.db.pragma('foreign_key_check') as unknown[]).length === 0;
      } finally {
        store.close();
      }
    }),
    { numRuns: Number(process.env.CTOP_PROPERTY_RUNS ?? 60) },
  );
});

t.test('arbitrary junk handed to ingest is refused with E_STORE_INPUT and stores nothing', async (t) => {
  const { store } = openTestStore(t);
  const base = genuine[0]!.read();
  const junk = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(fc.integer(), { maxLength: 3 }),
  );
  const fields = [
    'gatewayId',
    'transport',
    'endpoint',
    'startedAt',
    'finishedAt',
    'outcome',
    'authenticated',
    'events',
    'stats',
    'chainProblems',
    'manifest',
    'lock',
  ];
  const lockFields = [
    'lockId',
    'identityKey',
    'firmware',
    'battery',
    'sealState',
    'manifestSize',
    'manifestSha256',
    'eventCount',
    'eventHead',
  ];
  let refused = 0;
  fc.assert(
    fc.property(fc.constantFrom(...fields, ...lockFields.map((f) => `lock.${f}`)), junk, (field, value) => {
      const read = { ...base, lock: { ...base.lock! } } as Record<string, unknown> & {
        lock: Record<string, unknown>;
      };
      if (field.startsWith('lock.')) read.lock[field.slice(5)] = value;
      else read[field] = value;
      const before = count(store, 'lock_read');
      try {
        ingestRecord(store, { read: read as unknown as LockReadRecord });
        return true; // some junk is acceptable (an empty endpoint, a failed outcome…)
      } catch (err) {
        refused++;
        return isCtopError(err, 'E_STORE_INPUT') && count(store, 'lock_read') === before;
      }
    }),
    { numRuns: 400 },
  );
  t.ok(refused > 200, `${refused} refused`);
});
