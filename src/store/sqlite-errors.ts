import { CtopError, type ErrorCode, isCtopError } from '../errors.js';

/** better-sqlite3's SqliteError: an Error with SQLite's extended result code name. */
function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export function isSqliteFull(err: unknown): boolean {
  return sqliteCode(err) === 'SQLITE_FULL';
}

/**
 * Turns what SQLite throws into one of the store's typed errors, keeping the original as
 * `cause`. `what` names the operation for the message ("ingest", "outbox acknowledge").
 * CtopErrors pass through unchanged.
 */
export function toStoreError(err: unknown, what: string): CtopError {
  if (isCtopError(err)) return err;
  const code = sqliteCode(err);
  const message = err instanceof Error ? err.message : String(err);
  let mapped: ErrorCode = 'E_STORE_IO';
  if (code === undefined) {
    mapped = 'E_INTERNAL';
  } else if (code === 'SQLITE_FULL') {
    mapped = 'E_STORE_FULL';
  } else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    mapped = 'E_STORE_BUSY';
  } else if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    mapped = 'E_STORE_CORRUPT';
  } else if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    // A caller named a lock or manifest that is not stored.
    mapped = 'E_STORE_INPUT';
  } else if (code === 'SQLITE_CONSTRAINT_TRIGGER' && message.startsWith('E_STORE_PROTECTED')) {
    mapped = 'E_STORE_PROTECTED';
  }
  return new CtopError(mapped, `${what}: ${message}`, { cause: err, details: { sqlite: code } });
}
