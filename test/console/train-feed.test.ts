import t from 'tap';
import { LiveTrains, lockVerdict, TrainRecorder, type TrainView } from '../../src/console/index.js';
import type { LockReadResult } from '../../src/lock/reader.js';
import { emptySessionStats } from '../../src/lock/session.js';
import type { RecordedRead } from '../../src/store/index.js';
import { ManualClock } from '../helpers/store.js';

/** A finished read as readLock reports it (plain data, the shape the recorder consumes). */
function read(overrides: Partial<LockReadResult> = {}): LockReadResult {
  return {
    transport: 'serial',
    endpoint: '/dev/pts/9',
    startedAt: 0,
    finishedAt: 1,
    outcome: 'complete',
    events: [],
    chainProblems: [],
    manifest: Buffer.alloc(2000, 1),
    stats: { ...emptySessionStats(), links: 1, resumedFrom: [] },
    ...overrides,
  };
}

function ingest(overrides: Partial<RecordedRead> = {}): RecordedRead {
  return {
    readId: 1,
    readUid: 'u',
    duplicate: false,
    lockId: 'L',
    trust: 'trusted',
    pinned: false,
    manifest: { manifestId: 'ab'.repeat(32), new: true, verification: 'valid' },
    events: { new: 0, seen: 0, conflicts: 0 },
    alerts: [],
    outboxIds: [1],
    ...overrides,
  };
}

const alert = (kind: string, detail = 'why') => ({ alertId: 1, kind, detail, new: true });

t.test('the verdict: verified only for a trusted lock with a valid manifest and an intact log', async (t) => {
  t.same(lockVerdict(read(), ingest()), { state: 'verified' });
  t.equal(lockVerdict(read(), ingest({ trust: 'clone' })).state, 'tamper');
  t.equal(lockVerdict(read(), ingest({ alerts: [alert('tamper', 'event log gap')] })).state, 'tamper');
  t.match(lockVerdict(read(), ingest({ alerts: [alert('bad_signature')] })).error, /^bad_signature: why/);
  const cloned = read({ outcome: 'failed' });
  cloned.error = Object.assign(new Error('auth failed'), { code: 'E_LOCK_CLONED' }) as never;
  t.equal(lockVerdict(cloned).state, 'tamper', 'a clone caught by the reader before anything was stored');
  const failed = read({ outcome: 'failed' });
  failed.error = Object.assign(new Error('lock gone'), { code: 'E_LOCK_DISCONNECTED' }) as never;
  t.same(lockVerdict(failed, ingest({ manifest: undefined })), {
    state: 'failed',
    error: 'E_LOCK_DISCONNECTED: lock gone',
  });
  const expired = lockVerdict(
    read(),
    ingest({
      manifest: { manifestId: 'ab'.repeat(32), new: true, verification: 'expired' },
      alerts: [alert('expired', 'signer key expired')],
    }),
  );
  t.equal(expired.state, 'read');
  t.match(expired.error, /manifest expired; expired: signer key expired/);
  t.match(lockVerdict(read(), ingest({ trust: 'unknown_lock' })), {
    state: 'read',
    error: /lock unknown lock/,
  });
  t.match(lockVerdict(read(), undefined), { state: 'read', error: /not stored/ });
  t.equal(
    lockVerdict(read({ chainProblems: [{ kind: 'gap', counter: 3, detail: '' }] as never }), ingest()).state,
    'read',
    'a broken chain is never verified (the store raises the tamper alert that turns it red)',
  );
});

t.test('the recorder keeps the consist order, moves locks through reading, marks the missing', async (t) => {
  const clock = new ManualClock();
  const feed = new LiveTrains();
  const seen: TrainView[] = [];
  feed.on('update', (v) => seen.push(v));
  const rec = new TrainRecorder(feed, {
    trainId: 'KZ-0314-07',
    clock,
    consist: [
      { lockId: 'A', wagon: '1', container: 'C1' },
      { lockId: 'B', wagon: '2' },
      { lockId: 'C', wagon: '3' },
    ],
  });
  t.same(feed.snapshot()[0], { trainId: 'KZ-0314-07', startedAt: clock.now(), expected: 3, locks: [] });
  rec.heard('X'); // not on the consist list: after the listed ones
  rec.heard('B');
  const onProgress = rec.progress('B');
  onProgress({ phase: 'manifest', bytes: 500, total: 2000, attempt: 1, retransmits: 0 });
  t.same(
    feed.snapshot()[0]!.locks.map((l) => [l.lockId, l.state, l.bytes, l.total, l.wagon]),
    [
      ['B', 'reading', 500, 2000, '2'],
      ['X', 'seen', 0, 0, undefined],
    ],
  );
  onProgress({ phase: 'retrying', bytes: 500, total: 2000, attempt: 2, retransmits: 0 });
  rec.heard('A');
  const done = rec.finished('B', read({ stats: { ...read().stats, links: 2 } }), ingest(), {
    container: 'MSCU1234565',
    wagon: 'ignored: the consist says 2',
  });
  t.same(done, {
    lockId: 'B',
    wagon: '2',
    container: 'MSCU1234565',
    state: 'verified',
    bytes: 2000,
    total: 2000,
    retries: 1,
    manifestId: 'ab'.repeat(32),
  });
  clock.advance(60_000);
  const finished = rec.finish();
  t.same(
    finished.locks.map((l) => [l.lockId, l.state]),
    [
      ['A', 'failed'],
      ['B', 'verified'],
      ['C', 'missing'],
      ['X', 'failed'],
    ],
  );
  t.equal(finished.locks[0]!.error, 'not read before the train had passed');
  t.equal(finished.finishedAt, clock.now());
  t.ok(seen.length >= 6, 'an update per change');
  seen[0]!.locks.push({ lockId: 'Z', state: 'seen', bytes: 0, total: 0, retries: 0 });
  t.equal(feed.snapshot()[0]!.locks.length, 4, 'listeners get copies: nothing they do reaches the feed');
});

t.test('the feed keeps the newest trains, newest first', async (t) => {
  const feed = new LiveTrains({ keep: 2 });
  for (const [i, id] of ['T1', 'T2', 'T3'].entries()) feed.publish({ trainId: id, startedAt: i, locks: [] });
  feed.publish({ trainId: 'T2', startedAt: 1, finishedAt: 5, locks: [] });
  t.same(
    feed.snapshot().map((v) => [v.trainId, v.finishedAt]),
    [
      ['T3', undefined],
      ['T2', 5],
    ],
  );
  const listener = () => t.fail('removed listener called');
  feed.on('update', listener);
  feed.off('update', listener);
  feed.publish({ trainId: 'T4', startedAt: 9, locks: [] });
  t.equal(feed.snapshot()[0]!.trainId, 'T4');
});
