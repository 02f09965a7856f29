import fc from 'fast-check';
import t, { type Test } from 'tap';
import { decodeToObjects } from '../../src/cbor/index.js';
import { ingestRead } from '../../src/ingest/ingest-read.js';
import type { TrustStore } from '../../src/keys/index.js';
import { EventKind, MessageType, SealState } from '../../src/lock/codec/constants.js';
import { sha256 } from '../../src/lock/identity.js';
import { readLock } from '../../src/lock/reader.js';
import { silentLogger } from '../../src/log.js';
import { pairLock, preparePairing, recordPairing } from '../../src/pairing/index.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, type LockIdentity } from '../../src/sim/lock/lock-engine.js';
import type { LockFaults } from '../../src/sim/lock/simulated-lock.js';
import type { Store } from '../../src/store/index.js';
import { fixtureBytes, PAIRING_FIXTURES, type PairingFixture, testCarrier } from '../helpers/carrier.js';
import { runCli } from '../helpers/cli.js';
import { type SerialLockSetup, startSerialLock } from '../helpers/serial-lock.js';
import { ManualClock, openTestStore } from '../helpers/store.js';
import { testKeys } from '../helpers/test-keys.js';

/**
 * Pairing over real pseudo-terminals (socat) at 921600 baud, then the checkpoint's read of
 * the same lock through the same reader and ingest the border gateway runs.
 */

const OLD = Buffer.from('manifest of the previous journey');
const carrier = testCarrier();

async function loadingLock(
  t: Test,
  f: PairingFixture,
  options: { identity?: LockIdentity; faults?: LockFaults; chunk?: number } = {},
): Promise<SerialLockSetup> {
  const lock = await startSerialLock({
    lockId: f.lockId,
    manifest: OLD,
    ...(options.faults ? { faults: options.faults } : {}),
    engine: {
      identity: options.identity ?? generateLockIdentity(),
      events: [],
      sealState: SealState.Unsealed,
      carrierKeys: [carrier.provisioned],
      ...(options.chunk ? { chunk: options.chunk } : {}),
    },
  });
  t.teardown(lock.close);
  return lock;
}

function pair(lock: SerialLockSetup, f: PairingFixture, trust: TrustStore, attempts = 6) {
  const manifest = preparePairing({
    manifest: fixtureBytes(f),
    container: f.container,
    wagon: f.wagon,
    trust,
  });
  return pairLock({
    open: lock.open,
    gatewayId: 'KZ-ALTYNKOL-LOADING',
    manifest,
    container: f.container,
    carrier: carrier.carrier,
    attempts,
    backoffBaseMs: 50,
    log: silentLogger,
  });
}

/** The border gateway reads the lock as every train passing it. */
async function checkpoint(lock: SerialLockSetup, store: Store, trust: TrustStore) {
  const read = await readLock({ open: lock.open, gatewayId: 'KZ-DOSTYK-GW01' });
  return { read, ingest: ingestRead(read, { store, trust, gatewayId: 'KZ-DOSTYK-GW01', log: silentLogger }) };
}

t.test('pair over serial, then the checkpoint reads the same manifest and a valid chain', async (t) => {
  const keys = testKeys(t);
  const trust = keys.trustStore();
  const f = PAIRING_FIXTURES.consolidated;
  const lock = await loadingLock(t, f);
  const result = await pair(lock, f, trust);
  t.same(result.steps.resumedFrom, []);
  t.equal(result.steps.bytesWritten, fixtureBytes(f).byteLength);
  t.same(
    lock.lock.engine.events.map((e) => e.kind),
    [EventKind.Write, EventKind.Commit, EventKind.Sealed],
    'the lock logged write, commit and seal',
  );

  const loading = openTestStore(t, { trustOnFirstUse: true, clock: new ManualClock() });
  const recorded = recordPairing(result, {
    store: loading.store,
    trust,
    log: silentLogger,
    clock: loading.clock,
    wagon: f.wagon,
    carrierKid: carrier.carrier.kid,
    gatewayId: 'KZ-ALTYNKOL-LOADING',
  });
  t.equal(recorded.duplicate, false);
  t.equal(recorded.ingest.manifest?.verification, 'valid');
  t.same(recorded.ingest.alerts, [], 'the loading read raises nothing');
  const row = loading.store.outbox.get(recorded.outboxId)!;
  t.equal(row.kind, 'pairing');
  t.match(row.routing, {
    lockId: f.lockId,
    container: f.container,
    wagon: f.wagon,
    manifestId: result.manifestId,
  });
  t.match(decodeToObjects(row.payload!), {
    lockId: f.lockId,
    container: f.container,
    wagon: f.wagon,
    manifestId: result.manifestId,
    commitCounter: 2,
    sealCounter: 3,
    carrierKid: carrier.carrier.kid,
    gatewayId: 'KZ-ALTYNKOL-LOADING',
  });
  const again = recordPairing(result, {
    store: loading.store,
    trust,
    log: silentLogger,
    clock: loading.clock,
    wagon: f.wagon,
    carrierKid: carrier.carrier.kid,
    gatewayId: 'KZ-ALTYNKOL-LOADING',
  });
  t.same([again.duplicate, again.outboxId], [true, recorded.outboxId], 'the same pairing is queued once');

  const border = openTestStore(t, { trustOnFirstUse: true });
  const { read, ingest } = await checkpoint(lock, border.store, trust);
  t.equal(read.outcome, 'complete');
  t.same(read.manifest, fixtureBytes(f), 'the checkpoint reads exactly the bytes written');
  t.same(read.chainProblems, [], 'a valid chain');
  const sealed = read.events.at(-1)!;
  t.equal(sealed.kind, EventKind.Sealed);
  t.equal(Buffer.from(sealed.detail).toString(), f.container);
  t.same(
    Buffer.from(sealed.hash),
    Buffer.from(result.sealEvent.hash),
    'the seal the loading gateway recorded',
  );
  t.equal(ingest.manifest?.verification, 'valid');
  t.same(
    ingest.alerts.map((a) => a.detail),
    [],
    'no alerts at the checkpoint',
  );
});

t.test('a link cut at a random point of the pairing resumes and completes (fast-check)', async (t) => {
  const keys = testKeys(t);
  const trust = keys.trustStore();
  const f = PAIRING_FIXTURES.electronics;
  const identity = generateLockIdentity();
  const chunks = Math.ceil(fixtureBytes(f).byteLength / 256);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: chunks + 2 }), async (after) => {
      const lock = await loadingLock(t, f, {
        identity,
        chunk: 256,
        faults: {
          dropLinkAfter: { after, types: [MessageType.Write, MessageType.Commit, MessageType.Seal] },
        },
      });
      const result = await pair(lock, f, trust);
      const engine = lock.lock.engine;
      t.equal(lock.lock.stats.disconnects, 1, `cut after carrier response ${after}`);
      t.same(Buffer.from(engine.manifest), fixtureBytes(f));
      t.equal(engine.info().seal, SealState.Sealed);
      t.ok(result.links >= 2, 'a second link finished it');
      if (after < chunks - 1)
        t.ok(result.steps.resumedFrom[0]! > 0, `writing resumed at ${result.steps.resumedFrom}`);
      t.equal(
        engine.events.filter((e) => e.kind === EventKind.Commit).length,
        1,
        'committed once: a retransmitted COMMIT appends nothing',
      );
      t.equal(engine.events.filter((e) => e.kind === EventKind.Sealed).length, 1, 'sealed once');
      await lock.close();
      return true;
    }),
    { numRuns: 4, seed: 42 },
  );
});

t.test('a link cut without a retry leaves the previous manifest, not a mixture', async (t) => {
  const keys = testKeys(t);
  const f = PAIRING_FIXTURES.electronics;
  const lock = await loadingLock(t, f, {
    chunk: 256,
    faults: { dropLinkAfter: { after: 4, types: [MessageType.Write] } },
  });
  const err = await pair(lock, f, keys.trustStore(), 1).catch((e) => e);
  t.match(err.code, /^E_LOCK_(DISCONNECTED|TIMEOUT)$/);
  const engine = lock.lock.engine;
  t.same(Buffer.from(engine.manifest), OLD, 'the lock still serves the previous manifest');
  t.ok(engine.info().staged >= 256, `and holds ${engine.info().staged} staged bytes to continue from`);
  t.equal(engine.info().seal, SealState.Unsealed);
});

t.test('an opened-then-resealed lock is flagged at the checkpoint', async (t) => {
  const keys = testKeys(t);
  const trust = keys.trustStore();
  const f = PAIRING_FIXTURES.wheat;
  const lock = await loadingLock(t, f);
  const first = await pair(lock, f, trust);
  t.same(first.findings, []);
  // On the way: the shackle is cut open and the goods touched...
  lock.lock.engine.openShackle();
  t.equal(lock.lock.engine.info().seal, SealState.Tampered);
  // ...and someone with a carrier key seals it again.
  const resealed = await pair(lock, f, trust);
  t.equal(resealed.steps.committed, undefined, 'the manifest was not written again');
  t.ok(resealed.steps.sealed, 'only sealed again');
  t.same(
    resealed.findings.map((x) => x.kind),
    ['opened'],
    'the pairing itself warns',
  );
  t.equal(lock.lock.engine.info().seal, SealState.Sealed, 'the lock looks sealed again');

  const border = openTestStore(t, { trustOnFirstUse: true });
  const { read, ingest } = await checkpoint(lock, border.store, trust);
  t.same(read.chainProblems, [], 'the chain itself is intact');
  const opened = read.events.find((e) => e.kind === EventKind.Opened)!;
  const alert = ingest.alerts.find((a) => a.kind === 'tamper');
  t.ok(alert, 'a tamper alert');
  t.match(alert?.detail, /opened/);
  t.equal(alert?.manifestId, sha256(fixtureBytes(f)).toString('hex'), 'tied to the manifest');
  const stored = border.store.alerts.forManifest(alert!.manifestId!);
  t.equal(stored.length, 1, 'stored for the officer');
  t.equal(stored[0]?.subject, `lock_log:opened:${opened.counter}`);
  const again = await checkpoint(lock, border.store, trust);
  t.equal(again.ingest.alerts[0]?.new, false, 'a second read counts an occurrence, no second alert');
  const queued = ingest.outboxIds.map((id) => border.store.outbox.get(id)!.kind);
  t.ok(queued.includes('alert'), `queued for the exchange: ${queued.join(', ')}`);
});

t.test('a forged or reordered event log is flagged at the checkpoint', async (t) => {
  const keys = testKeys(t);
  const trust = keys.trustStore();
  const f = PAIRING_FIXTURES.minimal;
  const identity = generateLockIdentity();
  const manifest = fixtureBytes(f);
  const t0 = 1_747_720_000;
  const honest = appendEvents(
    f.lockId,
    identity.secretKey,
    [],
    [
      { kind: EventKind.Write, time: t0, detail: Buffer.from(carrier.carrier.kid) },
      { kind: EventKind.Commit, time: t0 + 10, detail: sha256(manifest).subarray(0, 8) },
      { kind: EventKind.Sealed, time: t0 + 20, detail: Buffer.from(f.container) },
      { kind: EventKind.Opened, time: t0 + 3600 },
      { kind: EventKind.Sealed, time: t0 + 3700, detail: Buffer.from(f.container) },
    ],
  );
  // An attacker rewrites "opened" as a harmless low-battery entry; without the lock's key
  // the entry can only be signed with another one.
  const attacker = generateLockIdentity();
  const forgedEntry = appendEvents(f.lockId, attacker.secretKey, honest.slice(0, 3), [
    { kind: EventKind.LowBattery, time: t0 + 3600 },
  ])[3]!;
  const cases = {
    forged: [...honest.slice(0, 3), forgedEntry, honest[4]!],
    reordered: [honest[0]!, honest[1]!, honest[3]!, honest[2]!, honest[4]!],
    removed: [...honest.slice(0, 3), honest[4]!],
  };
  let officer = '';
  for (const [name, events] of Object.entries(cases)) {
    const lock = await startSerialLock({
      lockId: f.lockId,
      manifest,
      engine: { identity, events, sealState: SealState.Sealed },
    });
    const border = openTestStore(t, { trustOnFirstUse: true });
    const { read, ingest } = await checkpoint(lock, border.store, trust);
    await lock.close();
    if (name === 'removed')
      officer = (await runCli(['manifests', 'show', f.container, '--db', border.path])).stdout;
    t.ok(read.chainProblems.length > 0, `${name}: ${read.chainProblems.map((p) => p.kind).join(', ')}`);
    const tamper = ingest.alerts.filter((a) => a.kind === 'tamper');
    t.ok(tamper.length > 0, `${name}: tamper alerts raised`);
    t.same(
      border.store.alerts.forLock(f.lockId).filter((a) => a.kind === 'tamper').length,
      tamper.length,
      `${name}: stored`,
    );
  }
  // The removed entry was the opening itself: the officer sees the hole it left.
  t.match(
    officer,
    /alerts \(2\)[\s\S]*TAMPER .*event log: gap at counter 5/,
    'the officer sees the broken log with the manifest',
  );
});

t.test('a lock whose log went back since the last read is flagged (flash restored)', async (t) => {
  const keys = testKeys(t);
  const trust = keys.trustStore();
  const f = PAIRING_FIXTURES.minimal;
  const identity = generateLockIdentity();
  const manifest = fixtureBytes(f);
  const log = appendEvents(
    f.lockId,
    identity.secretKey,
    [],
    [
      { kind: EventKind.Commit, time: 1, detail: sha256(manifest).subarray(0, 8) },
      { kind: EventKind.Sealed, time: 2, detail: Buffer.from(f.container) },
      { kind: EventKind.LowBattery, time: 3 },
      { kind: EventKind.LowBattery, time: 4 },
    ],
  );
  const border = openTestStore(t, { trustOnFirstUse: true });
  const full = await startSerialLock({ lockId: f.lockId, manifest, engine: { identity, events: log } });
  const first = await checkpoint(full, border.store, trust);
  await full.close();
  t.same(first.ingest.alerts, []);
  const restored = await startSerialLock({
    lockId: f.lockId,
    manifest,
    engine: { identity, events: log.slice(0, 2) },
  });
  t.teardown(restored.close);
  const second = await checkpoint(restored, border.store, trust);
  t.same(second.read.chainProblems, [], 'on its own the shorter log is a valid chain');
  t.same(
    second.ingest.alerts.map((a) => a.kind),
    ['tamper'],
  );
  t.match(second.ingest.alerts[0]?.detail, /went back from 4 to 2/);
});
