import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';
import { assertOwnerOnly, createOwnerOnly } from './file-mode.js';
import { MIGRATIONS, type Migration, migrate } from './migrations.js';
import { toStoreError } from './sqlite-errors.js';

export interface OpenDatabaseOptions {
  /** Create the file (owner-only) when missing. Default true; the CLI's read commands pass false. */
  create?: boolean;
  /** Run `PRAGMA quick_check` and refuse a corrupt database. Default true (the daemon at start-up). */
  quickCheck?: boolean;
  /** How long a statement waits for another connection's lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Replaces the schema history; tests of the migration machinery only. */
  migrations?: readonly Migration[];
}

/**
 * Opens the SQLite file with the settings every connection of the agent uses: WAL (readers
 * such as the officer CLI never block ingest), synchronous=FULL (a commit survives power
 * loss, not only a crash; Store.resendableTransaction relaxes it for one commit whose loss
 * costs only a resend), foreign keys, a busy timeout, and incremental auto-vacuum so
 * retention can hand pages back to the disk.
 */
export function openDatabase(
  file: string,
  log: Logger,
  options: OpenDatabaseOptions = {},
): Database.Database {
  if (!existsSync(file)) {
    if (options.create === false) throw new CtopError('E_STORE_OPEN', `no database at ${file}`);
    try {
      createOwnerOnly(file);
    } catch (err) {
      if (err instanceof CtopError) throw err;
      throw new CtopError('E_STORE_OPEN', `cannot create ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  assertOwnerOnly(file);
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new CtopError('E_STORE_OPEN', `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    configure(db, file, options);
    migrate(db, log, options.migrations ?? MIGRATIONS);
    // SQLite created -wal/-shm with the database file's mode; checked once more all the same.
    assertOwnerOnly(file);
    return db;
  } catch (err) {
    db.close();
    throw toStoreError(err, `open ${file}`);
  }
}

function configure(db: Database.Database, file: string, options: OpenDatabaseOptions): void {
  let tables: number;
  try {
    tables = (db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n;
  } catch (err) {
    throw new CtopError(
      'E_STORE_CORRUPT',
      `${file} is not a readable SQLite database: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  // Only takes effect before the first table exists; a database made by us always has it.
  if (tables === 0) db.pragma('auto_vacuum = INCREMENTAL');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal')
    throw new CtopError('E_STORE_OPEN', `${file}: cannot switch to WAL (journal mode ${mode})`);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Statement journals in memory: a multi-row UPDATE in a transaction (the sync's claim or
  // settling of a batch of outbox rows, with the schema's triggers and foreign keys) keeps
  // the pages it may have to undo, and past 64 KiB SQLite spills them to a temporary file
  // that it creates, writes and deletes within the statement (a drain did that for every
  // batch: 51 files and a quarter of its pwrites in 2,400 messages). What moves to memory is
  // what such files held: statement journals, bounded by the pages one statement changes,
  // and the transient tables and indices of the queries that need them.
  db.pragma('temp_store = MEMORY');
  // REPLACE deletes the conflicting row; only with recursive triggers do the schema's
  // delete guards see that deletion too.
  db.pragma('recursive_triggers = ON');
  if (options.quickCheck !== false) {
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0) {
      throw new CtopError(
        'E_STORE_CORRUPT',
        `${file} failed quick_check (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.slice(0, 3).join('; ')}`,
        { details: { problems: problems.slice(0, 20) } },
      );
    }
  }
}
