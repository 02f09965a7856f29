import { crc32 } from 'node:zlib';
import t from 'tap';
import type { CtopError } from '../../src/errors.js';
import { type LockReadResult, readLock } from '../../src/lock/reader.js';
import type { LinkOpener } from '../../src/lock/transport/link.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine } from '../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { TimerClock } from '../helpers/timer-clock.js';

/**
 * Issue 18: the hostile locks that took 244–271 s to fail (every frame a bad CRC, frames
 * with len = 65535, silence) end within the read deadline of PROTOCOL.md §10 whatever the
 * links and retransmissions left; replays beyond 32 end the read. Time is a TimerClock that
 * moves only when the test moves it, so "within the deadline" is a fact about the read's own
 * clock, not a stopwatch on this machine.
 */

const identity = generateLockIdentity();
const manifest = Buffer.alloc(20_000);
for (let i = 0; i < manifest.byteLength; i++) manifest[i] = (i * 37) & 0xff;
const events = appendEvents('SSL-KZ-DEADLINE', identity.secretKey, [], [{ kind: 1, time: 1_790_000_000 }]);

/** Rewrites every frame line the lock sends. */
function perLine(fn: (frame: Buffer) => Buffer): (bytes: Buffer) => Buffer {
  return (bytes) =>
    Buffer.from(
      bytes
        .toString('latin1')
        .split('\n')
        .map((line) =>
          line.startsWith('~') ? `~${fn(Buffer.from(line.slice(1), 'base64')).toString('base64')}` : line,
        )
        .join('\n'),
      'latin1',
    );
}

const badCrc = perLine((f) => {
  const g = Buffer.from(f);
  g[g.byteLength - 1]! ^= 0xff;
  return g;
});
const len65535 = perLine((f) => {
  const g = Buffer.from(f);
  g.writeUInt16BE(0xffff, 4);
  // A valid CRC over the lying header: only the length check can refuse it.
  g.writeUInt32BE(crc32(g.subarray(0, g.byteLength - 4)), g.byteLength - 4);
  return g;
});
const silence = (): Buffer => Buffer.alloc(0);

/** A read of the test lock through `open`, on `clock`, stepped until it settles. */
function readOn(clock: TimerClock, open: LinkOpener) {
  return stepUntilSettled(clock, readLock({ gatewayId: 'DEADLINE', clock, open }));
}

/**
 * Moves virtual time 100 ms at a step until `read` settles; gives up after ten minutes of it
 * (far beyond the 244–271 s of issue 18) without awaiting a read that never returns.
 */
async function stepUntilSettled(clock: TimerClock, read: Promise<LockReadResult>) {
  let result: LockReadResult | undefined;
  void read.then((r) => {
    result = r;
  });
  let elapsedMs = 0;
  for (; elapsedMs < 600_000; elapsedMs += 100) {
    await new Promise((resolve) => setImmediate(resolve));
    if (result) break;
    clock.advance(100);
  }
  return { result, elapsedMs };
}

/** Reads the lock with `tamper` on its answers, moving virtual time 100 ms at a step until the read ends. */
async function readOnVirtualTime(tamper: ((bytes: Buffer) => Buffer) | undefined, deadlineMs?: number) {
  const clock = new TimerClock();
  const lock = new SimulatedLock(new LockEngine({ lockId: 'SSL-KZ-DEADLINE', identity, manifest, events }));
  let links = 0;
  const { result, elapsedMs } = await stepUntilSettled(
    clock,
    readLock({
      gatewayId: 'DEADLINE',
      clock,
      ...(deadlineMs ? { readDeadlineMs: deadlineMs } : {}),
      open: async () => {
        links++;
        return memoryLinkTo(lock, tamper);
      },
    }),
  );
  lock.detach();
  if (!result) throw new Error('the read did not return within ten minutes of virtual time');
  return { result, elapsedMs, links };
}

for (const [name, tamper, code] of [
  ['every frame a bad CRC', badCrc, 'E_FRAME_CRC'],
  ['every frame with len = 65535', len65535, 'E_FRAME_LENGTH'],
  ['a lock that never answers', silence, 'E_LOCK_TIMEOUT'],
] as const) {
  t.test(`${name}: ${code}, final, within 30 s of the read's clock`, async (t) => {
    const { result, elapsedMs, links } = await readOnVirtualTime(tamper);
    t.equal(result.outcome, 'failed');
    t.equal(result.error?.code, code, String(result.error?.message));
    t.equal((result.error as CtopError).details.final, true, 'the read watch ended the read');
    t.ok(elapsedMs <= 30_000, `failed after ${elapsedMs} ms of the read's clock (bound 30 000)`);
    t.ok(links < 6, `${links} link(s) opened, not the whole budget of 6`);
    t.comment(`${name}: ${code} after ${elapsedMs / 1000} s virtual, ${links} link(s)`);
  });
}

t.test("silence after ten answers: E_LOCK_TIMEOUT, final, within 30 s of the read's clock", async (t) => {
  let answers = 0;
  const { result, elapsedMs, links } = await readOnVirtualTime((bytes) =>
    ++answers <= 10 ? bytes : Buffer.alloc(0),
  );
  t.equal(result.error?.code, 'E_LOCK_TIMEOUT', String(result.error?.message));
  t.equal((result.error as CtopError).details.final, true);
  t.ok(elapsedMs <= 30_000, `failed after ${elapsedMs} ms of the read's clock`);
  t.ok(links < 6, `${links} link(s)`);
  t.comment(
    `silence after ten answers: E_LOCK_TIMEOUT after ${elapsedMs / 1000} s virtual, ${links} link(s)`,
  );
});

t.test('a configured deadline of 5 s: silence fails within it (no valid answer ever)', async (t) => {
  const { result, elapsedMs } = await readOnVirtualTime(silence, 5000);
  t.equal(result.error?.code, 'E_LOCK_TIMEOUT');
  t.ok(elapsedMs <= 5000 + 5000, `after ${elapsedMs} ms (deadline 5 s, plus at most one back-off step)`);
});

t.test('an honest lock is read completely on the same virtual clock', async (t) => {
  const { result, links } = await readOnVirtualTime(undefined);
  t.equal(result.outcome, 'complete', String(result.error?.message));
  t.ok(result.manifest?.equals(manifest));
  t.equal(links, 1);
});

t.test('a lock that sends every answer 12 times: E_FRAME_REPLAY ends the read, no new link', async (t) => {
  const { result, links } = await readOnVirtualTime((bytes) => Buffer.concat(Array(12).fill(bytes)));
  t.equal(result.outcome, 'failed');
  t.equal(result.error?.code, 'E_FRAME_REPLAY');
  t.equal((result.error as CtopError).details.final, true);
  t.equal(links, 1, 'replays beyond the bound are final: the reader does not try another link');
  t.ok(result.stats.replays > 32);
});

t.test('a link that never opens again after a drop: the read still ends on its deadline', async (t) => {
  // Load run 3 of issue 15 hung a read for 20 minutes with no link open: the next link's
  // opening never settled, and nothing raced it. The deadline keeps running while a link is
  // being opened, and now ends the read there too.
  const clock = new TimerClock();
  const lock = new SimulatedLock(new LockEngine({ lockId: 'SSL-KZ-DEADLINE', identity, manifest, events }), {
    dropLinkAfter: { after: 3 },
  });
  let opens = 0;
  const { result: done } = await readOn(clock, async () => {
    if (++opens === 1) return memoryLinkTo(lock);
    return new Promise<never>(() => undefined);
  });
  lock.detach();
  t.ok(done, 'the read returned');
  t.equal(done?.error?.code, 'E_LOCK_TIMEOUT', String(done?.error?.message));
  t.match(done?.error?.message, /read deadline/);
  t.equal(opens, 2, 'the second link was being opened when the deadline came');
});

t.test('a first link that never opens: the read ends on its deadline, without retrying', async (t) => {
  const clock = new TimerClock();
  let opens = 0;
  const { result: done, elapsedMs: elapsed } = await readOn(clock, () => {
    opens++;
    return new Promise<never>(() => undefined);
  });
  t.ok(done, 'the read returned');
  t.equal(done?.error?.code, 'E_LOCK_TIMEOUT');
  t.match(done?.error?.message, /no link within 15 s \(read deadline\)/);
  t.equal(opens, 1, 'final: a stuck opener is not asked again');
  t.ok(elapsed <= 15_100, `after ${elapsed} ms of the read's clock`);
});

t.test('a link whose close never settles: a failed read still returns', async (t) => {
  // The closes that end a failed attempt were awaited without a bound; a driver that never
  // confirms a close would have held the read (and its port) for good.
  const clock = new TimerClock();
  const lock = new SimulatedLock(new LockEngine({ lockId: 'SSL-KZ-DEADLINE', identity, manifest, events }));
  let closes = 0;
  const { result: done } = await readOn(clock, async () => {
    const link = memoryLinkTo(lock, silence);
    return {
      kind: link.kind,
      endpoint: link.endpoint,
      bytesPerSecond: link.bytesPerSecond,
      read: () => link.read(),
      write: (b: Uint8Array) => link.write(b),
      close: () => {
        closes++;
        void link.close();
        return new Promise<void>(() => undefined);
      },
    };
  });
  lock.detach();
  t.ok(done, 'the read returned');
  t.equal(done?.error?.code, 'E_LOCK_TIMEOUT', String(done?.error?.message));
  t.ok(closes >= 1, `${closes} close(s) asked, none confirmed`);
});
