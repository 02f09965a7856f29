import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { ExchangeDb } from '../../src/reference-exchange/db.js';

t.test('a new exchange database has 16 KiB pages; an existing one keeps its own', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-exchange-db-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = new ExchangeDb(path.join(dir, 'new.db'));
  t.equal(fresh.db.pragma('page_size', { simple: true }), 16384);
  t.equal(fresh.db.pragma('journal_mode', { simple: true }), 'wal');
  fresh.db.close();
  const reopened = new ExchangeDb(path.join(dir, 'new.db'));
  t.equal(reopened.db.pragma('page_size', { simple: true }), 16384);
  reopened.db.close();

  // An exchange database of an earlier release (4 KiB pages, WAL, schema in place).
  const oldFile = path.join(dir, 'old.db');
  const made = new ExchangeDb(path.join(dir, 'template.db'));
  const schema = made.db
    .prepare<[], { sql: string }>('SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL')
    .all()
    .map((r) => r.sql);
  made.db.close();
  const old = new Database(oldFile);
  old.pragma('page_size = 4096');
  old.pragma('journal_mode = WAL');
  for (const sql of schema) old.exec(sql);
  old.pragma('user_version = 1');
  old.close();
  const kept = new ExchangeDb(oldFile);
  t.equal(kept.db.pragma('page_size', { simple: true }), 4096);
  t.equal(kept.db.pragma('user_version', { simple: true }), 1);
  kept.db.close();
});
