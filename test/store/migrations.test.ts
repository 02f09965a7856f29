import { createHash } from 'node:crypto';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { silentLogger } from '../../src/log.js';
import {
  MIGRATIONS,
  type Migration,
  migrate,
  openStore,
  SCHEMA_VERSION,
  type Store,
} from '../../src/store/index.js';
import { inspectionFor, routingFor, TestLock, tempDir } from '../helpers/store.js';

/** Two receipts' bytes (hex): what matters is that each row keeps exactly its own. */
const RECEIPT_A = 'd2'.padEnd(600, '0a');
const RECEIPT_B = 'd2'.padEnd(300, '0b');
const sha256Hex = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

/**
 * Data a database of each version holds, written with that version's own SQL so the test
 * proves the later migrations carry it over. Index = schema version.
 */
const SEED: ((db: Database.Database) => void)[] = [
  () => {},
  (db) => {
    db.exec(`
      INSERT INTO lock (lock_id, identity_key, pinned_by, pinned_at, first_seen_at) VALUES ('LK-OLD', zeroblob(32), 'provisioned', 1, 1);
      INSERT INTO manifest (manifest_id, size, received_at, lock_id, verification, container)
        VALUES ('${'ab'.repeat(32)}', 3, 1000, 'LK-OLD', 'valid', 'MSCU1234565');
      INSERT INTO manifest_payload (manifest_id, bytes) VALUES ('${'ab'.repeat(32)}', x'010203');
      INSERT INTO outbox (kind, manifest_id, payload_sha256, payload_size, next_attempt_at, created_at)
        VALUES ('manifest', '${'ab'.repeat(32)}', zeroblob(32), 3, 1000, 1000);`);
  },
  (db) => {
    SEED[1]!(db);
    db.exec(`
      INSERT INTO audit (at, officer, action, target, outcome, remote) VALUES (1500, 'aigerim', 'view', '/outbox', 'ok', '127.0.0.1');
      INSERT INTO audit (at, officer, action, target, outcome, detail)
        VALUES (1600, 'aigerim', 'decrypt', '${'ab'.repeat(32)}', 'refused', 'E_MANIFEST_NOT_RECIPIENT');`);
    // Two alerts settled by one receipt, a third by another: v1 and v2 copy the bytes into each row.
    db.exec(`
      INSERT INTO outbox (kind, payload, payload_sha256, payload_size, next_attempt_at, created_at, state,
                          receipt, receipt_status, receipt_at)
        VALUES ('alert', x'a1', zeroblob(32), 1, 1000, 1000, 'acknowledged', x'${RECEIPT_A}', 'accepted', 1700),
               ('alert', x'a2', zeroblob(32), 1, 1000, 1000, 'acknowledged', x'${RECEIPT_A}', 'accepted', 1700),
               ('alert', x'a3', zeroblob(32), 1, 1000, 1000, 'rejected', x'${RECEIPT_B}', 'rejected', 1800);`);
  },
  (db) => {
    SEED[1]!(db);
    db.exec(`
      INSERT INTO audit (at, officer, action, target, outcome, remote) VALUES (1500, 'aigerim', 'view', '/outbox', 'ok', '127.0.0.1');
      INSERT INTO audit (at, officer, action, target, outcome, detail)
        VALUES (1600, 'aigerim', 'decrypt', '${'ab'.repeat(32)}', 'refused', 'E_MANIFEST_NOT_RECIPIENT');
      INSERT INTO receipt (receipt_id, sha256, bytes) VALUES (7, x'${sha256Hex(RECEIPT_A)}', x'${RECEIPT_A}'),
                                                            (8, x'${sha256Hex(RECEIPT_B)}', x'${RECEIPT_B}');
      INSERT INTO outbox (kind, payload, payload_sha256, payload_size, next_attempt_at, created_at, state,
                          receipt_id, receipt_status, receipt_at)
        VALUES ('alert', x'a1', zeroblob(32), 1, 1000, 1000, 'acknowledged', 7, 'accepted', 1700),
               ('alert', x'a2', zeroblob(32), 1, 1000, 1000, 'acknowledged', 7, 'accepted', 1700),
               ('alert', x'a3', zeroblob(32), 1, 1000, 1000, 'rejected', 8, 'rejected', 1800);`);
  },
  (db) => {
    SEED[3]!(db);
  },
];

/** What a store migrated from `from` must still show of SEED[from]. */
function checkSeed(t: Test, store: Store, from: number): void {
  if (from >= 1) {
    t.equal(store.manifests.list()[0]!.routing?.container, 'MSCU1234565');
    t.equal(store.outbox.status(2000).counts.queued, 1);
  }
  if (from >= 2) {
    t.same(
      store.audit.list().map((a) => [a.officer, a.action, a.target?.slice(0, 8), a.outcome, a.detail]),
      [
        ['aigerim', 'decrypt', 'abababab', 'refused', 'E_MANIFEST_NOT_RECIPIENT'],
        ['aigerim', 'view', '/outbox', 'ok', undefined],
      ],
    );
    const alerts = store.db
      .prepare<[], { outbox_id: number }>(
        `SELECT outbox_id FROM outbox WHERE kind = 'alert' ORDER BY outbox_id`,
      )
      .all()
      .map((r) => store.outbox.get(r.outbox_id)!);
    t.same(
      alerts.map((a) => [
        a.state,
        Buffer.from(a.receipt!.bytes).toString('hex'),
        a.receipt!.status,
        a.receipt!.at,
      ]),
      [
        ['acknowledged', RECEIPT_A, 'accepted', 1700],
        ['acknowledged', RECEIPT_A, 'accepted', 1700],
        ['rejected', RECEIPT_B, 'rejected', 1800],
      ],
      'every settled row keeps its own receipt, byte for byte',
    );
    t.equal(
      store.db.prepare('SELECT count(*) FROM receipt').pluck().get(),
      2,
      'a receipt that settled two rows is stored once',
    );
  }
}

t.test('every version before the current one migrates to it, keeping its data', async (t) => {
  t.equal(SEED.length, SCHEMA_VERSION + 1, 'a seed for every schema version (add one with each migration)');
  for (let from = 0; from < SCHEMA_VERSION; from++) {
    const file = path.join(tempDir(t), `v${from}.db`);
    const raw = new Database(file);
    migrate(raw, silentLogger, MIGRATIONS.slice(0, from));
    t.equal(raw.pragma('user_version', { simple: true }), from);
    SEED[from]!(raw);
    raw.close();
    chmodSync(file, 0o600);
    const store = openStore({ path: file });
    t.equal(
      store.db.pragma('user_version', { simple: true }),
      SCHEMA_VERSION,
      `v${from} → v${SCHEMA_VERSION}`,
    );
    t.same(store.integrityCheck(), ['ok']);
    t.same(store.db.pragma('foreign_key_check'), []);
    checkSeed(t, store, from);
    // The migrated database works for everything.
    const lock = new TestLock('LK-NEW', 1);
    t.equal(
      ingestRecord(store, {
        read: lock.read(),
        inspection: inspectionFor(lock.manifest, routingFor('LK-NEW')),
      }).trust,
      'unknown_lock',
    );
    const logged = store.audit.record({ officer: 'bolat', action: 'view', target: '/' }, 3000);
    t.same(store.audit.list({ officer: 'bolat' }), [logged], 'the audit trail works after the migration');
    store.close();
  }
});

t.test("the current version's seed, written with its own SQL, reads back through the API", async (t) => {
  const file = path.join(tempDir(t), 'current.db');
  const raw = new Database(file);
  migrate(raw, silentLogger);
  SEED[SCHEMA_VERSION]!(raw);
  raw.close();
  chmodSync(file, 0o600);
  const store = openStore({ path: file });
  t.teardown(() => store.close());
  checkSeed(t, store, SCHEMA_VERSION);
});

t.test(
  'a failing migration leaves the database at its previous version, with nothing half-done',
  async (t) => {
    const file = path.join(tempDir(t), 'fail.db');
    const broken: Migration = {
      version: SCHEMA_VERSION + 1,
      name: 'broken',
      up: (db) => {
        db.exec('CREATE TABLE half_done (x INTEGER) STRICT');
        db.exec('INSERT INTO no_such_table VALUES (1)');
      },
    };
    const err = t.throws(() => openStore({ path: file, migrations: [...MIGRATIONS, broken] }));
    t.ok(isCtopError(err, 'E_STORE_MIGRATION'));
    const raw = new Database(file);
    t.equal(
      raw.pragma('user_version', { simple: true }),
      SCHEMA_VERSION,
      'the earlier migrations stay applied',
    );
    t.equal(
      (raw.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'half_done'`).get() as { n: number })
        .n,
      0,
    );
    raw.close();
    const next: Migration = {
      version: SCHEMA_VERSION + 1,
      name: 'add a column',
      up: (db) => db.exec('ALTER TABLE lock ADD COLUMN vendor TEXT'),
    };
    const store = openStore({ path: file, migrations: [...MIGRATIONS, next] });
    t.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
    store.close();
  },
);

t.test('a migration that breaks references is rolled back', async (t) => {
  const file = path.join(tempDir(t), 'fk.db');
  const store = openStore({ path: file });
  ingestRecord(store, { read: new TestLock('LK-1', 1).read() });
  store.close();
  const dangling: Migration = {
    version: SCHEMA_VERSION + 1,
    name: 'dangling',
    up: (db) => {
      // Deferred so the statement itself passes and only the check before commit can catch it.
      db.pragma('defer_foreign_keys = ON');
      db.exec(`UPDATE lock_read SET lock_id = 'LK-GONE'`);
    },
  };
  const err = t.throws(() => openStore({ path: file, migrations: [...MIGRATIONS, dangling] }));
  t.ok(isCtopError(err, 'E_STORE_MIGRATION'));
  t.match((err as Error).message, /broken references/);
  const again = openStore({ path: file });
  t.equal(again.reads.get(1)!.lockId, 'LK-1');
  again.close();
});
