import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { encodeCanonical } from '../../src/cbor/index.js';
import { isCtopError } from '../../src/errors.js';
import { CarrierSession } from '../../src/lock/carrier-session.js';
import { EventKind, MessageType, SealState } from '../../src/lock/codec/constants.js';
import { Frame } from '../../src/lock/codec/frame.js';
import { decodeMessage } from '../../src/lock/codec/messages.js';
import { sha256 } from '../../src/lock/identity.js';
import { silentLogger } from '../../src/log.js';
import { type PairLockOptions, pairLock, preparePairing } from '../../src/pairing/index.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine, type LockEngineOptions } from '../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { fixtureBytes, PAIRING_FIXTURES, testCarrier } from '../helpers/carrier.js';
import { testKeys } from '../helpers/test-keys.js';

/** pairLock's decisions, over in-memory links: what it refuses, what it resumes, what it rewrites. */

const carrier = testCarrier();
const f = PAIRING_FIXTURES.wheat;
const OLD = Buffer.from('manifest of the previous journey');

function setup(t: Test, engine: Partial<LockEngineOptions> = {}) {
  const keys = testKeys(t);
  const identity = engine.identity ?? generateLockIdentity();
  const lockEngine = new LockEngine({
    lockId: f.lockId,
    identity,
    manifest: OLD,
    sealState: SealState.Unsealed,
    carrierKeys: [carrier.provisioned],
    chunk: 256,
    ...engine,
  });
  const lock = new SimulatedLock(lockEngine);
  const manifest = preparePairing({
    manifest: fixtureBytes(f),
    container: f.container,
    wagon: f.wagon,
    trust: keys.trustStore(),
  });
  const pair = (options: Partial<PairLockOptions> = {}) =>
    pairLock({
      open: async () => memoryLinkTo(lock),
      gatewayId: 'GW-LOADING',
      manifest,
      container: f.container,
      carrier: carrier.carrier,
      initialTimeoutMs: 300,
      backoffBaseMs: 10,
      log: silentLogger,
      ...options,
    });
  return { engine: lockEngine, lock, manifest, identity, pair };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'paired';
  } catch (err) {
    return isCtopError(err) ? err.code : String(err);
  }
}

t.test(
  'the wrong lock on the link, or a clone of the right one: refused before anything is written',
  async (t) => {
    const wrong = setup(t, { lockId: 'SSL-KZ-999999' });
    t.equal(await code(wrong.pair()), 'E_PAIRING_WRONG_LOCK');
    const clone = setup(t);
    t.equal(await code(clone.pair({ pinnedKey: generateLockIdentity().publicKey })), 'E_LOCK_CLONED');
    for (const { engine } of [wrong, clone]) {
      t.same(engine.events, [], 'nothing logged');
      t.same(Buffer.from(engine.manifest), OLD);
    }
  },
);

t.test(
  'a lock still sealed for the previous consignment: refused, or unsealed on request and paired',
  async (t) => {
    const identity = generateLockIdentity();
    const previous = appendEvents(
      f.lockId,
      identity.secretKey,
      [],
      [
        { kind: EventKind.Commit, time: 1, detail: sha256(OLD).subarray(0, 8) },
        { kind: EventKind.Sealed, time: 2, detail: Buffer.from('MSKU4002711') },
      ],
    );
    const r = setup(t, { identity, events: previous, sealState: SealState.Sealed });
    t.equal(await code(r.pair()), 'E_PAIRING_SEALED');
    t.equal(r.engine.info().seal, SealState.Sealed, 'left sealed');
    const result = await r.pair({ unsealReason: 'released at Dostyk' });
    t.equal(result.steps.unsealed, true);
    t.same(
      r.engine.events.map((e) => e.kind),
      [
        EventKind.Commit,
        EventKind.Sealed,
        EventKind.Unsealed,
        EventKind.Write,
        EventKind.Commit,
        EventKind.Sealed,
      ],
    );
    t.same(result.findings, [], 'the unseal before this loading is nothing a checkpoint flags');
  },
);

t.test(
  'a staging area left by someone else: COMMIT catches it, the manifest is written again from 0',
  async (t) => {
    const r = setup(t);
    // Another carrier's aborted pairing left 512 foreign bytes staged.
    const other = new CarrierSession(memoryLinkTo(r.lock), { gatewayId: 'OTHER-GW' });
    await other.hello();
    await other.carrierAuthenticate(carrier.carrier.kid, carrier.carrier.sign);
    await other.writeChunk(0, randomBytes(256));
    await other.writeChunk(256, randomBytes(256));
    await other.close();
    t.equal(r.engine.info().staged, 512);
    const result = await r.pair();
    t.same(result.steps.resumedFrom, [512], 'first it continued what the lock held');
    t.equal(
      result.steps.bytesWritten,
      fixtureBytes(f).byteLength - 512 + fixtureBytes(f).byteLength,
      'then all of it',
    );
    t.same(Buffer.from(r.engine.manifest), fixtureBytes(f));
  },
);

t.test(
  'a link that corrupts WRITE data: COMMIT refused twice, E_PAIRING_COMMIT, the old manifest stays',
  async (t) => {
    const r = setup(t);
    const result = code(
      r.pair({
        open: async () => {
          const link = memoryLinkTo(r.lock);
          const deliver = link.onWrite;
          link.onWrite = (line) => {
            const frame = Frame.fromLine(Buffer.from(line).subarray(0, -1));
            const request = frame && decodeMessage(frame);
            if (request?.type !== MessageType.Write) return deliver(line);
            // Flip a byte and re-frame with a good CRC: the damage a CRC cannot see.
            const data = Buffer.from(request.body.data);
            data[0]! ^= 0xff;
            const forged = new Frame(
              frame!.version,
              frame!.type,
              frame!.seq,
              encodeCanonical({ ...request.body, data }),
            );
            deliver(forged.toLine());
          };
          return link;
        },
      }),
    );
    t.equal(await result, 'E_PAIRING_COMMIT');
    t.same(Buffer.from(r.engine.manifest), OLD);
    t.equal(r.engine.info().seal, SealState.Unsealed, 'never sealed');
  },
);

t.test(
  'a lock that does not serve what it committed is not reported paired (E_PAIRING_VERIFY)',
  async (t) => {
    const r = setup(t, { announcedHashOverride: randomBytes(32) });
    t.equal(await code(r.pair()), 'E_PAIRING_VERIFY');
  },
);
