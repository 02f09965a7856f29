import { chmodSync, closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { openStore, SCHEMA_VERSION } from '../../src/store/index.js';
import {
  inspectionFor,
  ManualClock,
  openTestStore,
  routingFor,
  TestLock,
  tempDir,
} from '../helpers/store.js';

t.test(
  'a new database is owner-only, WAL, synchronous=FULL, foreign keys, busy timeout, incremental vacuum',
  async (t) => {
    const previous = process.umask(0);
    let opened: ReturnType<typeof openTestStore>;
    try {
      opened = openTestStore(t);
    } finally {
      process.umask(previous);
    }
    const { store, path: file } = opened;
    ingestRecord(store, { read: new TestLock('LK-1', 1).read() });
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      t.equal(statSync(f).mode & 0o777, 0o600, `${path.basename(f)} is 0600 even with umask 0`);
    }
    t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    t.equal(store.db.pragma('synchronous', { simple: true }), 2, 'FULL');
    t.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
    t.equal(store.db.pragma('busy_timeout', { simple: true }), 5000);
    t.equal(store.db.pragma('auto_vacuum', { simple: true }), 2, 'incremental');
    t.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  },
);

t.test('a database, -wal or -shm readable by group or others is refused with the chmod to run', async (t) => {
  const { store, path: file } = openTestStore(t);
  ingestRecord(store, { read: new TestLock('LK-1', 1).read() });
  store.close();
  for (const suffix of ['', '-wal', '-shm']) {
    const victim = `${file}${suffix}`;
    if (suffix !== '') writeFileSync(victim, '', { mode: 0o600 });
    chmodSync(victim, 0o640);
    const err = t.throws(() => openStore({ path: file }));
    t.ok(isCtopError(err, 'E_STORE_PERMISSIONS'), `${suffix || 'db'} refused`);
    t.match((err as Error).message, `chmod 600 '${victim}'`);
    chmodSync(victim, 0o600);
  }
  const again = openStore({ path: file });
  t.equal(again.manifests.list().length, 1, 'opens once fixed');
  again.close();
});

t.test('a missing database is created only when allowed; an impossible path is E_STORE_OPEN', async (t) => {
  const dir = tempDir(t);
  const missing = t.throws(() => openStore({ path: path.join(dir, 'nope.db'), create: false }));
  t.ok(isCtopError(missing, 'E_STORE_OPEN'));
  writeFileSync(path.join(dir, 'file'), 'x');
  const impossible = t.throws(() => openStore({ path: path.join(dir, 'file', 'sub', 'store.db') }));
  t.ok(isCtopError(impossible, 'E_STORE_OPEN'));
  const nested = openStore({ path: path.join(dir, 'a', 'b', 'store.db') });
  t.equal(statSync(path.join(dir, 'a', 'b')).mode & 0o777, 0o700, 'new directories are owner-only too');
  nested.close();
});

t.test('a file that is not a database is refused as corrupt', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'garbage.db');
  writeFileSync(file, Buffer.alloc(8192, 0x5a), { mode: 0o600 });
  const err = t.throws(() => openStore({ path: file }));
  t.ok(isCtopError(err, 'E_STORE_CORRUPT'), (err as Error).message);
  t.ok(readFileSync(file).equals(Buffer.alloc(8192, 0x5a)), 'the file is left as it was, as evidence');
});

t.test('a damaged page fails quick_check at start-up with a clear refusal', async (t) => {
  const { store, path: file } = openTestStore(t);
  const clock = new ManualClock();
  for (let i = 0; i < 30; i++) {
    const lock = new TestLock(`LK-${i}`, i);
    ingestRecord(store, {
      read: lock.read({}, clock.now() + i),
      inspection: inspectionFor(lock.manifest, routingFor(lock.lockId)),
    });
  }
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  const root = (
    store.db.prepare(`SELECT rootpage FROM sqlite_schema WHERE name = 'manifest_container'`).get() as {
      rootpage: number;
    }
  ).rootpage;
  store.close();
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(64, 0xee), 0, 64, (root - 1) * pageSize);
  closeSync(fd);
  const err = t.throws(() => openStore({ path: file }));
  t.ok(isCtopError(err, 'E_STORE_CORRUPT'));
  t.match((err as Error).message, /failed quick_check/);
  t.ok(isCtopError(err) && Array.isArray(err.details.problems));
});

t.test('a database from a newer agent is refused, not downgraded', async (t) => {
  const { store, path: file } = openTestStore(t);
  store.close();
  const raw = new Database(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  const err = t.throws(() => openStore({ path: file }));
  t.ok(isCtopError(err, 'E_STORE_VERSION'));
  const raw2 = new Database(file);
  t.equal(raw2.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1, 'left untouched');
  raw2.close();
});

t.test(
  'a database held locked past the busy timeout gives E_STORE_BUSY; ingest waits within it',
  async (t) => {
    const { store, path: file } = openTestStore(t);
    const other = openStore({ path: file, busyTimeoutMs: 100 });
    t.teardown(() => other.close());
    store.db.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    const err = t.throws(() => ingestRecord(other, { read: new TestLock('LK-1', 1).read() }));
    t.ok(isCtopError(err, 'E_STORE_BUSY'));
    t.ok(performance.now() - started >= 90, 'waited for the busy timeout first');
    store.db.exec('COMMIT');
    t.equal(
      ingestRecord(other, { read: new TestLock('LK-1', 1).read() }).duplicate,
      false,
      'and works once the lock is released',
    );
  },
);
