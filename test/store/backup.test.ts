import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { isCtopError } from '../../src/errors.js';
import { backupDatabase, openStore, restoreDatabase, SCHEMA_VERSION } from '../../src/store/index.js';
import { tempDir } from '../helpers/store.js';
import { seedOutbox } from '../helpers/sync-world.js';

/**
 * `backupDatabase` / `restoreDatabase` (src/store/backup.ts) against a second real process
 * on the same file: one that keeps committing, one that only holds the database open.
 */

const CHILD = new URL('./fixtures/outbox-writer.ts', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

interface Other {
  child: ChildProcess;
  /** Resolves once the child printed `batch <k>` for k ≥ n. */
  batches(n: number): Promise<void>;
  kill(): Promise<void>;
}

function startOther(t: Test, db: string, mode: 'write' | 'hold'): Promise<Other> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, db, mode], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let last = -1;
  const waiters: { n: number; resolve: () => void }[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the other process exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') {
        resolve({
          child,
          kill,
          batches: (n) =>
            n <= last ? Promise.resolve() : new Promise((r) => waiters.push({ n, resolve: r })),
        });
        return;
      }
      const m = /^batch (\d+)$/.exec(line);
      if (!m) return;
      last = Number(m[1]);
      for (const w of waiters.filter((w) => w.n <= last)) w.resolve();
    });
  });
}

/** Outbox counts of a database file, through the store (opened and closed again). */
function outboxTotal(file: string): number {
  const store = openStore({ path: file, create: false, quickCheck: false });
  try {
    const c = store.outbox.status(Date.now()).counts;
    return c.queued + c.in_flight + c.acknowledged + c.rejected;
  } finally {
    store.close();
  }
}

function seeded(dir: string, rows: number, name = 'agent.db'): string {
  const file = path.join(dir, name);
  const store = openStore({ path: file });
  seedOutbox(store, rows, { tag: 'before', size: 400 });
  store.close();
  return file;
}

async function rejects(t: Test, p: Promise<unknown>, code: string, what: string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    t.ok(
      isCtopError(err, code as never),
      `${what}: ${code} (got ${(err as { code?: string }).code}: ${(err as Error).message})`,
    );
    return err as Error;
  }
  t.fail(`${what}: resolved, expected ${code}`);
  return new Error('resolved');
}

t.test(
  'a backup taken while another process keeps committing is one owner-only, verified snapshot',
  async (t) => {
    const dir = tempDir(t, 'ctop-backup-');
    const db = seeded(dir, 7);
    const writer = await startOther(t, db, 'write');
    await writer.batches(3);
    const first = await backupDatabase(db, path.join(dir, 'first.backup'));
    await writer.batches(6);
    const second = await backupDatabase(db, path.join(dir, 'second.backup'));
    await writer.kill();

    for (const summary of [first, second]) {
      const name = path.basename(summary.file);
      t.equal(statSync(summary.file).mode & 0o777, 0o600, `${name}: owner-only`);
      t.notOk(existsSync(`${summary.file}-wal`), `${name}: one file, no -wal beside it`);
      t.equal(summary.integrity, 'ok');
      t.equal(summary.schemaVersion, SCHEMA_VERSION);
      t.equal(summary.bytes, statSync(summary.file).size);
      const copy = new Database(summary.file, { readonly: true });
      t.equal(copy.pragma('journal_mode', { simple: true }), 'delete', `${name}: rollback journal mode`);
      t.same(copy.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      copy.close();
      // From here on the store opens it (and turns it to WAL, as every agent connection does).
      const total = outboxTotal(summary.file);
      t.equal(summary.outbox.queued, total, `${name}: the summary counts what the copy holds`);
      t.ok(total >= 7 + 10 * 4, `${name}: ${total} rows, batches committed before it included`);
      t.equal((total - 7) % 10, 0, `${name}: every batch of 10 is whole (a snapshot of one commit)`);
    }
    t.ok(outboxTotal(second.file) > outboxTotal(first.file), 'the later backup holds more batches');
    t.same(
      readdirSync(dir).filter((f) => f.includes('.partial-')),
      [],
      'no partial file left behind',
    );
  },
);

t.test('backup refuses: an existing output, a missing database, a database others can read', async (t) => {
  const dir = tempDir(t, 'ctop-backup-');
  const db = seeded(dir, 3);
  const taken = path.join(dir, 'taken');
  writeFileSync(taken, 'keep me');
  await rejects(t, backupDatabase(db, taken), 'E_FILE', 'existing output');
  t.equal(readFileSync(taken, 'utf8'), 'keep me', 'the existing file is untouched');
  await rejects(
    t,
    backupDatabase(path.join(dir, 'nope.db'), path.join(dir, 'x')),
    'E_STORE_OPEN',
    'no database',
  );
  chmodSync(db, 0o644);
  await rejects(t, backupDatabase(db, path.join(dir, 'y')), 'E_STORE_PERMISSIONS', 'world-readable database');
  t.notOk(existsSync(path.join(dir, 'y')), 'nothing written');
});

t.test('restore into a fresh data directory: the same rows, owner-only, opened by the store', async (t) => {
  const dir = tempDir(t, 'ctop-restore-');
  const db = seeded(dir, 25);
  const backup = await backupDatabase(db, path.join(dir, 'agent.backup'));
  const before = readFileSync(backup.file);
  const fresh = path.join(dir, 'new-gateway', 'data', 'ctop-agent.db');
  const restored = await restoreDatabase(backup.file, fresh);
  t.equal(restored.file, fresh);
  t.equal(restored.replacedKeptAt, undefined, 'nothing replaced');
  t.equal(restored.outbox.queued, 25);
  t.equal(statSync(fresh).mode & 0o777, 0o600, 'owner-only');
  t.equal(statSync(path.dirname(fresh)).mode & 0o777, 0o700, 'its new directory owner-only');
  t.equal(outboxTotal(fresh), 25, 'the store opens it and finds every row');
  t.same(readFileSync(backup.file), before, 'the backup itself is unchanged');
  t.same(
    readdirSync(path.dirname(fresh)).filter((f) => f.includes('.partial-')),
    [],
    'no partial file left behind',
  );
});

t.test('restore refuses a database another process holds open, and leaves it as it was', async (t) => {
  const dir = tempDir(t, 'ctop-restore-');
  const backup = await backupDatabase(seeded(dir, 5, 'old.db'), path.join(dir, 'old.backup'));
  const live = seeded(dir, 40, 'live.db');
  const holder = await startOther(t, live, 'hold');
  await rejects(t, restoreDatabase(backup.file, live, { force: true }), 'E_STORE_IN_USE', 'held open');
  await rejects(t, restoreDatabase(backup.file, live), 'E_STORE_IN_USE', 'held open, without --force');
  await holder.kill();
  t.equal(outboxTotal(live), 40, 'the held database is untouched');

  // A writer SIGKILLed mid-work leaves its -wal: the restore still takes the database whole.
  const writer = await startOther(t, live, 'write');
  await writer.batches(2);
  await writer.kill();
  const had = outboxTotal(live);
  t.ok(had >= 70, `${had} rows before the restore`);
  await rejects(
    t,
    restoreDatabase(backup.file, live),
    'E_RESTORE_EXISTS',
    'an existing database, no --force',
  );
  t.equal(outboxTotal(live), had, 'still untouched');

  const restored = await restoreDatabase(backup.file, live, {
    force: true,
    now: () => Date.UTC(2026, 10, 23, 13, 57, 15),
  });
  t.equal(restored.replacedKeptAt, `${live}.before-restore-20261123T135715Z`);
  t.equal(outboxTotal(live), 5, 'the backup is the database now');
  t.equal(outboxTotal(restored.replacedKeptAt!), had, 'the replaced one is kept whole, its WAL included');
  t.notOk(existsSync(`${live}-wal`), 'no stale -wal beside the restored database');
});

t.test('restore refuses what is not a sound backup of this agent, and writes nothing', async (t) => {
  const dir = tempDir(t, 'ctop-restore-');
  const target = path.join(dir, 'data', 'agent.db');
  const noise = path.join(dir, 'noise');
  writeFileSync(noise, Buffer.alloc(8192, 7));
  await rejects(t, restoreDatabase(noise, target), 'E_STORE_CORRUPT', 'not SQLite');

  const other = path.join(dir, 'other.sqlite');
  new Database(other).exec('CREATE TABLE notes (x)');
  await rejects(t, restoreDatabase(other, target), 'E_STORE_CORRUPT', 'SQLite, but not ours');

  const future = path.join(dir, 'future.db');
  {
    const store = openStore({ path: future });
    store.close();
    const raw = new Database(future);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
  }
  await rejects(t, restoreDatabase(future, target), 'E_STORE_VERSION', 'from a newer agent');

  // Damage inside a table's pages: found by integrity_check before anything is written.
  const backup = await backupDatabase(seeded(dir, 300), path.join(dir, 'agent.backup'));
  const bytes = readFileSync(backup.file);
  const pageSize = bytes.readUInt16BE(16);
  for (let page = 3; page * pageSize < bytes.length; page += 4)
    bytes.fill(0x5a, page * pageSize + 8, page * pageSize + 40);
  const damaged = path.join(dir, 'damaged.backup');
  writeFileSync(damaged, bytes);
  await rejects(t, restoreDatabase(damaged, target), 'E_STORE_CORRUPT', 'damaged pages');
  t.notOk(existsSync(target), 'no database written');
  t.same(
    existsSync(path.dirname(target)) ? readdirSync(path.dirname(target)) : [],
    [],
    'no partial file left',
  );
  await rejects(t, restoreDatabase(path.join(dir, 'missing'), target), 'E_FILE', 'no such file');
});
