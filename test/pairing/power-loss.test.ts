import fc from 'fast-check';
import t, { type Test } from 'tap';
import { EventKind, SealState } from '../../src/lock/codec/constants.js';
import { verifyEventChain } from '../../src/lock/event-log.js';
import { sha256 } from '../../src/lock/identity.js';
import { silentLogger } from '../../src/log.js';
import { type PairingManifest, pairLock, preparePairing } from '../../src/pairing/index.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine, type LockIdentity } from '../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { fixtureBytes, PAIRING_FIXTURES, type PairingFixture, testCarrier } from '../helpers/carrier.js';
import { testKeys } from '../helpers/test-keys.js';

/**
 * Power lost between any two flash operations of a pairing (or in the middle of a data
 * page write): the lock comes back holding the previous manifest or the new one, never a
 * mixture, with an intact event log whose commit event is there exactly when the new
 * manifest is; and running the pairing again finishes it. In-memory links: the flash
 * model's operation count is the variable, not the transport.
 */

const OLD = Buffer.from('manifest of the previous journey, already released at destination');
const carrier = testCarrier();

function freshLock(f: PairingFixture, identity: LockIdentity): { engine: LockEngine; lock: SimulatedLock } {
  const t0 = 1_747_000_000;
  const engine = new LockEngine({
    lockId: f.lockId,
    identity,
    manifest: OLD,
    // The previous journey: committed, sealed, unsealed at its destination.
    events: appendEvents(
      f.lockId,
      identity.secretKey,
      [],
      [
        { kind: EventKind.Commit, time: t0, detail: sha256(OLD).subarray(0, 8) },
        { kind: EventKind.Sealed, time: t0 + 60, detail: Buffer.from('MSKU4002711') },
        { kind: EventKind.Unsealed, time: t0 + 86_400, detail: Buffer.from('released at destination') },
      ],
    ),
    sealState: SealState.Unsealed,
    carrierKeys: [carrier.provisioned],
  });
  return { engine, lock: new SimulatedLock(engine, { powerOffMs: 30 }) };
}

/** Waits until the lock is powered again (it boots `powerOffMs` after the cut), rather than for a while. */
async function booted(engine: LockEngine): Promise<void> {
  for (let waited = 0; engine.poweredOff; waited += 10) {
    if (waited > 30_000) throw new Error('the lock did not boot again');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function pair(lock: SimulatedLock, manifest: PairingManifest, container: string, attempts: number) {
  return pairLock({
    open: async () => memoryLinkTo(lock),
    gatewayId: 'GW-LOADING',
    manifest,
    container,
    carrier: carrier.carrier,
    attempts,
    retries: 2,
    initialTimeoutMs: 300,
    backoffBaseMs: 10,
    log: silentLogger,
  });
}

/** What must hold whenever the lock is up, interrupted or not. */
function assertConsistent(t: Test, engine: LockEngine, next: Uint8Array): 'old' | 'new' {
  const manifest = Buffer.from(engine.manifest);
  const which = manifest.equals(OLD) ? 'old' : manifest.equals(next) ? 'new' : 'mixture';
  t.not(which, 'mixture', 'the lock holds the old or the new manifest');
  const info = engine.info();
  t.same(
    verifyEventChain(engine.lockId, info.key, engine.events, { count: info.ecount, head: info.ehead }),
    [],
    'the event log is an intact chain',
  );
  const committed = engine.events.some(
    (e) => e.kind === EventKind.Commit && sha256(next).subarray(0, 8).equals(e.detail),
  );
  t.equal(committed, which === 'new', 'a commit event exactly when the new manifest is active');
  t.same(Buffer.from(info.mhash), sha256(manifest), 'INFO announces the hash of what READ serves');
  return which as 'old' | 'new';
}

t.test('every cut point of a small pairing (exhaustive)', async (t) => {
  const keys = testKeys(t);
  const f = PAIRING_FIXTURES.electronics;
  const identity = generateLockIdentity();
  const bytes = fixtureBytes(f);
  const manifest = preparePairing({
    manifest: bytes,
    container: f.container,
    wagon: f.wagon,
    trust: keys.trustStore(),
  });

  const reference = freshLock(f, identity);
  const before = reference.engine.flash.operations;
  await pair(reference.lock, manifest, f.container, 1);
  const operations = reference.engine.flash.operations - before;
  t.ok(operations >= 8, `an uninterrupted pairing takes ${operations} flash operations`);

  const seen = { old: 0, new: 0 };
  for (let cut = 0; cut < operations; cut++) {
    const { engine, lock } = freshLock(f, identity);
    engine.flash.cutPowerAfter(cut);
    const first = await pair(lock, manifest, f.container, 1).then(
      () => undefined,
      (err: Error) => err,
    );
    t.ok(first, `cut at operation ${cut}: the interrupted pairing reports failure`);
    await booted(engine);
    seen[assertConsistent(t, engine, bytes)]++;
    const resumed = await pair(lock, manifest, f.container, 4);
    t.same(Buffer.from(engine.manifest), bytes, `cut at operation ${cut}: resumed to the new manifest`);
    t.equal(engine.info().seal, SealState.Sealed);
    t.same(resumed.findings, [], 'nothing a checkpoint would flag');
  }
  t.ok(seen.old > 0 && seen.new > 0, `cuts left the old manifest ${seen.old}×, the new one ${seen.new}×`);
});

t.test('random cut points of a 68-chunk pairing (fast-check)', async (t) => {
  const keys = testKeys(t);
  const f = PAIRING_FIXTURES.consolidated;
  const identity = generateLockIdentity();
  const bytes = fixtureBytes(f);
  const manifest = preparePairing({
    manifest: bytes,
    container: f.container,
    wagon: f.wagon,
    trust: keys.trustStore(),
  });
  const reference = freshLock(f, identity);
  await pair(reference.lock, manifest, f.container, 1);
  const operations = reference.engine.flash.operations;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: operations - 1 }), async (cut) => {
      const { engine, lock } = freshLock(f, identity);
      engine.flash.cutPowerAfter(cut);
      await pair(lock, manifest, f.container, 1).catch(() => undefined);
      await booted(engine);
      const state = assertConsistent(t, engine, bytes);
      const staged = engine.info().staged;
      const resumed = await pair(lock, manifest, f.container, 4);
      t.same(Buffer.from(engine.manifest), bytes);
      if (state === 'old' && staged > 0) {
        t.same(resumed.steps.resumedFrom, [staged], `cut ${cut}: writing continued at ${staged}, not from 0`);
      }
      return true;
    }),
    { numRuns: 4, seed: 9 },
  );
});
