import {
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import { assertOwnerOnly, COMPANION_SUFFIXES, createOwnerOnly } from './file-mode.js';
import { SCHEMA_VERSION } from './migrations.js';
import type { OutboxState } from './outbox.js';
import { toStoreError } from './sqlite-errors.js';

/**
 * Backups of the agent's database that restore (docs/OPERATIONS.md, "Backup and restore").
 *
 * A backup is taken with SQLite's online backup API from a read-only connection while the
 * daemon keeps writing: in WAL mode a reader never blocks the writer, and the copy is made in
 * one step, inside one read transaction, so it is the database as of one commit — never half
 * of a transaction. The copy is a single self-contained file (rollback journal mode, no
 * -wal), owner-only from the first byte, and is opened again and passes `PRAGMA
 * integrity_check` before it gets its name.
 *
 * A restore refuses to touch a database another process holds open. SQLite itself is asked:
 * leaving WAL mode needs every other connection closed, so `PRAGMA journal_mode=DELETE`
 * fails with SQLITE_BUSY while the daemon (or any CLI command, or a sqlite3 shell) has the
 * file open — however it was started, and with no pid file to go stale after a SIGKILL.
 * The restorer then keeps an exclusive lock on the old file until the new one has taken its
 * name, so a daemon starting meanwhile waits rather than opening the old one.
 */

/** What a backup or a restore copied, read from the copy itself. */
export interface BackupSummary {
  /** The file written (the backup, or the restored database). */
  file: string;
  bytes: number;
  schemaVersion: number;
  /** `PRAGMA integrity_check` of the copy: always 'ok' when returned. */
  integrity: 'ok';
  manifests: number;
  outbox: Record<OutboxState, number>;
}

export interface RestoreOptions {
  /** Replace an existing database (kept beside it as `<db>.before-restore-<time>`). Default false. */
  force?: boolean;
  /** For the name of the file kept aside. Default Date.now. */
  now?: () => number;
}

export interface RestoreSummary extends BackupSummary {
  /** Where the replaced database was kept, when there was one. */
  replacedKeptAt?: string;
}

/** The most pages SQLite copies in one backup step: everything, so the copy is one snapshot. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the database at `source` to `out` (which must not exist) while other processes may
 * be writing it, and verifies the copy. Returns what the copy holds.
 */
export async function backupDatabase(source: string, out: string): Promise<BackupSummary> {
  if (!existsSync(source)) throw new CtopError('E_STORE_OPEN', `no database at ${source}`);
  assertOwnerOnly(source);
  if (existsSync(out))
    throw new CtopError('E_FILE', `${out} exists; a backup never replaces a file: name a new one`);
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true, timeout: 5000 });
  } catch (err) {
    throw new CtopError('E_STORE_OPEN', `cannot open ${source}: ${(err as Error).message}`, { cause: err });
  }
  const partial = partialName(out);
  try {
    createPartial(partial);
    await copyWithBackupApi(db, partial, `backup ${source}`);
  } catch (err) {
    removeQuietly(partial);
    throw err;
  } finally {
    db.close();
  }
  return publish(partial, out, 'backup');
}

/**
 * Restores the backup `file` as the database at `target`: checks it, copies it beside the
 * target, verifies the copy, then gives it the target's name in one rename. Refuses, before
 * copying anything, while another process holds the target open (E_STORE_IN_USE) and,
 * without `force`, when a database is already there (E_RESTORE_EXISTS); from that check to
 * the rename the old database stays locked, so an agent starting meanwhile waits.
 */
export async function restoreDatabase(
  file: string,
  target: string,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  const backup = openBackup(file);
  const dir = path.dirname(path.resolve(target));
  const partial = partialName(target);
  let held: Database.Database | undefined;
  try {
    if (existsSync(target)) {
      held = holdExclusively(target);
      if (!options.force) throw exists(target);
    }
    createPartial(partial);
    await copyWithBackupApi(backup, partial, `restore ${file}`);
    const summary = verifyCopy(partial, 'restore');
    summary.bytes = statSync(partial).size;
    fsyncFile(partial);
    giveDirectoryOwner(partial, dir);
    if (held) {
      const aside = `${target}.before-restore-${stamp((options.now ?? Date.now)())}`;
      // The old database keeps a name (and its data) before the new one takes its place.
      linkSync(target, aside);
      renameSync(partial, target);
      for (const suffix of COMPANION_SUFFIXES.slice(1)) removeQuietly(`${target}${suffix}`);
      syncDirectory(dir);
      return { ...summary, file: target, replacedKeptAt: aside };
    }
    try {
      // link() refuses an existing name: a database that appeared meanwhile is never replaced.
      linkSync(partial, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists(target);
      throw new CtopError('E_FILE', `cannot write ${target}: ${(err as Error).message}`, { cause: err });
    }
    unlinkSync(partial);
    syncDirectory(dir);
    return { ...summary, file: target };
  } catch (err) {
    removeQuietly(partial);
    throw err;
  } finally {
    held?.close();
    backup.close();
  }
}

function exists(target: string): CtopError {
  return new CtopError(
    'E_RESTORE_EXISTS',
    `${target} exists; add --force to replace it (it is kept beside it as ${path.basename(target)}.before-restore-<time>)`,
  );
}

/**
 * Opens `target` and takes it for this process alone, or throws E_STORE_IN_USE. Switching
 * out of WAL mode checkpoints and removes the -wal, and SQLite allows it only to the last
 * connection; the exclusive lock then keeps newcomers out until close.
 */
function holdExclusively(target: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(target, { fileMustExist: true, timeout: 0 });
  } catch (err) {
    throw new CtopError('E_STORE_OPEN', `cannot open ${target}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    return db;
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new CtopError(
        'E_STORE_IN_USE',
        `${target} is open in another process (the daemon, or a ctop-agent command): stop it first (systemctl stop ctop-agent)`,
        { cause: err, details: { sqlite: code } },
      );
    }
    throw toStoreError(err, `open ${target}`);
  }
}

/** The backup to restore: a readable SQLite database of this agent, sound, not from a newer one. */
function openBackup(file: string): Database.Database {
  if (!existsSync(file)) throw new CtopError('E_FILE', `no backup at ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new CtopError('E_STORE_OPEN', `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const hasOutbox = db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'outbox'")
      .get();
    if (version < 1 || !hasOutbox)
      throw new CtopError(
        'E_STORE_CORRUPT',
        `${file} is not a ctop-agent database (schema version ${version})`,
      );
    if (version > SCHEMA_VERSION) {
      throw new CtopError(
        'E_STORE_VERSION',
        `${file} has schema version ${version}, newer than this agent's ${SCHEMA_VERSION}`,
        { details: { found: version, supported: SCHEMA_VERSION } },
      );
    }
    assertIntegrity(db, file);
    return db;
  } catch (err) {
    db.close();
    throw toStoreError(err, `read ${file}`);
  }
}

async function copyWithBackupApi(source: Database.Database, dest: string, what: string): Promise<void> {
  try {
    await source.backup(dest, { progress: () => ALL_PAGES });
  } catch (err) {
    throw toStoreError(err, what);
  }
}

/** Opens the copy alone, makes it one file (rollback journal), checks it and reads its summary. */
function verifyCopy(file: string, what: string): BackupSummary {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    assertIntegrity(db, `the ${what} copy ${file}`, 'E_BACKUP_VERIFY');
    const outbox: Record<OutboxState, number> = { queued: 0, in_flight: 0, acknowledged: 0, rejected: 0 };
    const rows = db.prepare('SELECT state, count(*) AS n FROM outbox GROUP BY state').all() as {
      state: OutboxState;
      n: number;
    }[];
    for (const { state, n } of rows) outbox[state] = n;
    return {
      file,
      bytes: 0,
      schemaVersion: db.pragma('user_version', { simple: true }) as number,
      integrity: 'ok',
      manifests: (db.prepare('SELECT count(*) AS n FROM manifest').get() as { n: number }).n,
      outbox,
    };
  } catch (err) {
    throw toStoreError(err, `verify ${file}`);
  } finally {
    db.close();
  }
}

function assertIntegrity(
  db: Database.Database,
  what: string,
  code: 'E_STORE_CORRUPT' | 'E_BACKUP_VERIFY' = 'E_STORE_CORRUPT',
): void {
  const problems = (db.pragma('integrity_check') as { integrity_check: string }[])
    .map((r) => r.integrity_check)
    .filter((r) => r !== 'ok');
  if (problems.length > 0) {
    throw new CtopError(code, `${what} failed integrity_check: ${problems.slice(0, 3).join('; ')}`, {
      details: { problems: problems.slice(0, 20) },
    });
  }
}

/** Verifies `partial`, makes it durable and gives it the name `out` (never over an existing file). */
function publish(partial: string, out: string, what: string): BackupSummary {
  try {
    const summary = verifyCopy(partial, what);
    fsyncFile(partial);
    linkSync(partial, out);
    unlinkSync(partial);
    syncDirectory(path.dirname(path.resolve(out)));
    return { ...summary, file: out, bytes: statSync(out).size };
  } catch (err) {
    removeQuietly(partial);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CtopError('E_FILE', `${out} appeared while the backup ran; nothing was replaced`);
    throw err;
  }
}

function partialName(file: string): string {
  return `${file}.partial-${process.pid}`;
}

/** An empty owner-only file for SQLite to fill: the copy is never readable by others. */
function createPartial(file: string): void {
  removeQuietly(file);
  try {
    createOwnerOnly(file);
  } catch (err) {
    if (err instanceof CtopError) throw err;
    throw new CtopError('E_FILE', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Run as root for an agent that runs as its own user (`sudo ctop-agent restore`), the
 * restored file belongs to whoever owns the data directory, so the daemon can open it.
 */
function giveDirectoryOwner(file: string, dir: string): void {
  if (process.getuid?.() !== 0 || !existsSync(dir)) return;
  const owner = statSync(dir);
  chownSync(file, owner.uid, owner.gid);
}

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A rename or link is durable once the directory that holds it is synced. */
function syncDirectory(dir: string): void {
  try {
    fsyncFile(dir);
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself was synced.
  }
}

function removeQuietly(file: string): void {
  rmSync(file, { force: true });
  for (const suffix of COMPANION_SUFFIXES.slice(1)) rmSync(`${file}${suffix}`, { force: true });
}

/** 20261123T135715Z: sortable, and safe in a file name. */
function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
