import fc from 'fast-check';
import t from 'tap';
import { CarrierSession } from '../../src/lock/carrier-session.js';
import { EventKind, MessageType, SealState, WireError } from '../../src/lock/codec/constants.js';
import { Frame } from '../../src/lock/codec/frame.js';
import { decodeMessage } from '../../src/lock/codec/messages.js';
import { silentLogger } from '../../src/log.js';
import { pairLock, preparePairing, writeStaged } from '../../src/pairing/index.js';
import { generateLockIdentity, LockEngine } from '../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { fixtureBytes, PAIRING_FIXTURES, testCarrier } from '../helpers/carrier.js';
import { testKeys } from '../helpers/test-keys.js';

/**
 * The windowed WRITE on a link that loses, corrupts and replays answers, and on one that
 * loses requests (the lock never sees them, so later chunks land past its staging area and
 * are answered GAP). Whatever the losses, the lock ends up with exactly the manifest.
 */

const carrier = testCarrier();

t.test('pairing over a lossy link, any fault seed (fast-check)', async (t) => {
  const keys = testKeys(t);
  const f = PAIRING_FIXTURES.electronics;
  const bytes = fixtureBytes(f);
  const manifest = preparePairing({
    manifest: bytes,
    container: f.container,
    wagon: f.wagon,
    trust: keys.trustStore(),
  });
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
      const engine = new LockEngine({
        lockId: f.lockId,
        identity: generateLockIdentity(),
        manifest: new Uint8Array(0),
        sealState: SealState.Unsealed,
        carrierKeys: [carrier.provisioned],
        chunk: 128,
        window: 8,
      });
      const lock = new SimulatedLock(engine, { seed, dropRate: 0.1, corruptCrcRate: 0.05, replayRate: 0.05 });
      const result = await pairLock({
        open: async () => memoryLinkTo(lock),
        gatewayId: 'GW',
        manifest,
        container: f.container,
        carrier: carrier.carrier,
        initialTimeoutMs: 300,
        backoffBaseMs: 10,
        log: silentLogger,
      });
      t.same(Buffer.from(engine.manifest), bytes, `seed ${seed}`);
      t.same(result.findings, []);
      t.equal(engine.events.filter((e) => e.kind === EventKind.Commit).length, 1);
      return true;
    }),
    { numRuns: 5, seed: 3 },
  );
});

t.test(
  'requests lost on the way to the lock: later chunks are answered GAP and resent in order',
  async (t) => {
    const engine = new LockEngine({
      lockId: 'SSL-KZ-000001',
      identity: generateLockIdentity(),
      manifest: new Uint8Array(0),
      sealState: SealState.Unsealed,
      carrierKeys: [carrier.provisioned],
      chunk: 64,
      window: 8,
    });
    const lock = new SimulatedLock(engine);
    const link = memoryLinkTo(lock);
    // Swallow the 3rd and 7th WRITE lines entirely: the lock never sees them.
    const deliver = link.onWrite;
    let writes = 0;
    link.onWrite = (line) => {
      const frame = Buffer.from(Buffer.from(line).toString('latin1').slice(1).trim(), 'base64');
      if (frame[1] === 0x06) {
        writes++;
        if (writes === 3 || writes === 7) return;
      }
      deliver(line);
    };
    let gaps = 0;
    const receive = link.deliver.bind(link);
    link.deliver = (bytes) => {
      const frame = Frame.fromLine(Buffer.from(bytes).subarray(0, -1));
      const answer = frame && decodeMessage(frame);
      if (answer?.type === MessageType.Error && answer.body.code === WireError.Gap) gaps++;
      receive(bytes);
    };
    const session = new CarrierSession(link, { gatewayId: 'GW', initialTimeoutMs: 300 });
    t.teardown(() => session.close());
    await session.hello();
    await session.carrierAuthenticate(carrier.carrier.kid, carrier.carrier.sign);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const progress: number[] = [];
    const staged = await writeStaged(session, data, { from: 0, onProgress: (s) => progress.push(s) });
    t.equal(staged, data.byteLength);
    t.same(
      Buffer.from(engine.flash.stagedBytes(data.byteLength)),
      data,
      'the staging area holds exactly the bytes',
    );
    t.ok(session.stats.retransmits >= 2, `${session.stats.retransmits} retransmissions`);
    t.ok(gaps > 0, `${gaps} WRITEs answered GAP`);
    t.same(
      progress,
      [...progress].sort((a, b) => a - b),
      'progress never goes back',
    );
  },
);
