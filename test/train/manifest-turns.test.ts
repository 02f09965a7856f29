import fc from 'fast-check';
import t from 'tap';
import { CtopError } from '../../src/errors.js';
import { readLock } from '../../src/lock/reader.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine } from '../../src/sim/lock/lock-engine.js';
import { type MemoryLink, memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { ManifestTurns } from '../../src/train/manifest-turns.js';

/**
 * Turns to move manifest bytes (the train reader's ManifestTurns, readLock's manifestTurn):
 * never more than the size at once, the smallest key next, an aborted wait gone from the
 * queue, and a read whose link drops while it waits ends without holding a turn.
 */

/** A lock with `manifest` and a one-event log, spoken to over in-process links. */
function simulatedLock(lockId: string, manifest: Buffer): SimulatedLock {
  const identity = generateLockIdentity();
  const events = appendEvents(lockId, identity.secretKey, [], [{ kind: 1, time: 1_790_000_000 }]);
  return new SimulatedLock(new LockEngine({ lockId, identity, manifest, events }));
}

t.test('never more than `size` at once; each release grants the smallest key waiting', async (t) => {
  type Op = { take: number } | { release: number } | { abort: number };
  const op = fc.oneof(
    fc.record({ take: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ release: fc.nat(20) }),
    fc.record({ abort: fc.nat(20) }),
  ) as fc.Arbitrary<Op>;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), async (size, ops) => {
      const turns = new ManifestTurns(size);
      const held: { key: number; release: () => void }[] = [];
      const waiting: { key: number; abort: AbortController }[] = [];
      const granted: number[] = [];
      const settle = () => new Promise((r) => setImmediate(r));
      for (const o of ops) {
        if ('take' in o) {
          const abort = new AbortController();
          const w = { key: o.take, abort };
          waiting.push(w);
          void turns.take(o.take, abort.signal).then((release) => {
            waiting.splice(waiting.indexOf(w), 1);
            held.push({ key: o.take, release });
            granted.push(o.take);
          });
        } else if ('release' in o && held.length > 0) {
          const before = waiting.filter((w) => !w.abort.signal.aborted).map((w) => w.key);
          const h = held.splice(o.release % held.length, 1)[0]!;
          const n = granted.length;
          h.release();
          h.release(); // idempotent
          await settle();
          if (before.length > 0) {
            if (granted.length !== n + 1) return false;
            if (granted[n] !== Math.min(...before)) return false;
          }
        } else if ('abort' in o && waiting.length > 0) {
          const w = waiting.splice(o.abort % waiting.length, 1)[0]!;
          w.abort.abort();
        }
        await settle();
        if (turns.busy > size || turns.busy !== held.length) return false;
        if (turns.waiting !== waiting.length) return false;
        if (held.length < size && turns.waiting > 0) return false; // a free turn is never left unused
      }
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass('held ≤ size, free turns used, smallest key first, aborted waits gone');
});

t.test('a read whose link drops while it waits for its turn ends, and passes the turn on', async (t) => {
  const manifest = Buffer.alloc(6000, 0x5a);
  const lock = simulatedLock('SSL-KZ-TURNS', manifest);
  const turns = new ManifestTurns(1);
  const other = await turns.take(0); // another read is moving bytes
  let link: MemoryLink | undefined;
  const reading = readLock({
    gatewayId: 'KZ-DOSTYK-GW01',
    attempts: 1,
    open: async () => {
      link = memoryLinkTo(lock, undefined, 'ble');
      return link;
    },
    manifestTurn: () => turns.take(1),
  });
  while (turns.waiting === 0) await new Promise((r) => setTimeout(r, 5));
  t.equal(turns.waiting, 1, 'after HELLO and AUTH the read waits for a turn');
  link!.hangUp();
  const result = await reading;
  t.equal(result.outcome, 'failed');
  t.equal(result.error?.code, 'E_LOCK_DISCONNECTED', result.error?.message ?? 'dropped');
  t.ok(result.info, 'HELLO and AUTH were done before the wait');
  other();
  await new Promise((r) => setImmediate(r));
  t.equal(turns.busy, 0, 'the turn granted to the ended read was passed on at once');
  t.equal(turns.waiting, 0);
  lock.detach();
});

t.test('a read gets its turn and reads the manifest whole', async (t) => {
  const manifest = Buffer.alloc(6000, 0x33);
  const lock = simulatedLock('SSL-KZ-TURN2', manifest);
  const turns = new ManifestTurns(1);
  const other = await turns.take(0);
  const phases: string[] = [];
  const reading = readLock({
    gatewayId: 'KZ-DOSTYK-GW01',
    open: async () => memoryLinkTo(lock, undefined, 'ble'),
    manifestTurn: () => turns.take(1),
    onProgress: (p) => phases.push(p.phase),
  });
  while (turns.waiting === 0) await new Promise((r) => setTimeout(r, 5));
  // What a train's progress shows as moving bytes: not a read that waits for its turn.
  t.notOk(phases.includes('manifest'), `while waiting the read reports ${phases.join(', ')}`);
  other();
  const result = await reading;
  t.equal(result.outcome, 'complete', result.error?.message ?? 'read');
  t.equal(phases.at(-1), 'done');
  t.ok(phases.includes('manifest'), 'manifest once the turn came');
  t.same(result.manifest, manifest);
  t.equal(turns.busy, 0, 'released after the manifest');
  t.throws(() => new ManifestTurns(0), RangeError);
  lock.detach();
});

t.test(
  'a turn that fails ends the read with its error, no further link opened, and nothing is left unhandled',
  async (t) => {
    const lock = simulatedLock('SSL-KZ-TURN3', Buffer.alloc(3000, 1));
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    t.teardown(() => process.off('unhandledRejection', onUnhandled));
    let opened = 0;
    const result = await readLock({
      gatewayId: 'KZ-DOSTYK-GW01',
      // Links to spare, and the error retryable (E_BLE_CONNECT): the refusal alone ends the read.
      attempts: 4,
      backoffBaseMs: 1,
      open: async () => {
        opened++;
        return memoryLinkTo(lock, undefined, 'ble');
      },
      manifestTurn: async () => {
        throw new CtopError('E_BLE_CONNECT', 'no turn for this lock');
      },
    });
    await new Promise((r) => setTimeout(r, 20));
    t.equal(result.outcome, 'failed');
    t.equal(result.error?.code, 'E_BLE_CONNECT');
    t.match(result.error?.message, /no turn for this lock/);
    t.equal(opened, 1, 'one link: the refused turn is not asked for again on another');
    t.equal(result.stats.links, 1);
    t.same(unhandled, [], 'no unhandled rejection');
    lock.detach();
  },
);
