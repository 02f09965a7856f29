import { mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { openTestStore, TestLock } from '../helpers/store.js';

// A drain claims and settles batches of 64 rows inside the sync's transactions; each such
// UPDATE keeps a statement journal, which SQLite spills to a temporary file past 64 KiB
// unless temporary storage is in memory (database.ts). Watched here in a directory of its
// own: SQLite creates, writes and deletes such a file within one statement.
t.test('a drain-sized claim and settling create no temporary file', async (t) => {
  const { store, clock } = openTestStore(t);
  const batch = 64;
  for (let i = 0; i < batch; i++) ingestRecord(store, { read: new TestLock(`LK-${i}`, i + 1).read() });
  for (let i = 0; i < batch; i++) store.outbox.enqueue('alert', Buffer.alloc(3000, i), {}, clock.now());
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-sqlite-temp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Process-wide, and this file is its own process: every temporary file SQLite makes goes here.
  store.db.pragma(`temp_store_directory = '${dir}'`);
  t.equal(store.db.pragma('temp_store', { simple: true }), 2, 'MEMORY');
  const seen: string[] = [];
  const watcher = watch(dir, (event, name) => seen.push(`${event} ${name}`));
  t.teardown(() => watcher.close());
  for (let round = 0; round < 2; round++) {
    const claimed = store.resendableTransaction(() => store.outbox.claimDue(clock.now(), batch));
    t.equal(claimed.length, batch);
    const outcomes = store.resendableTransaction(() =>
      store.outbox.settle(
        { bytes: Buffer.from(`receipt ${round}`), at: clock.now() },
        claimed.map((row) => ({ id: row.id, status: 'accepted' as const })),
      ),
    );
    t.same(new Set(outcomes), new Set([true]));
  }
  // fs.watch reports asynchronously: give its events a turn of the loop before judging.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(seen, [], 'no temporary file was created');
  t.same(readdirSync(dir), []);
  t.equal(store.outbox.status(clock.now()).counts.acknowledged, 2 * batch);
});
