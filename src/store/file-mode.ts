import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { CtopError } from '../errors.js';

/** SQLite's companions of a WAL database; they hold recent pages in the clear too. */
export const COMPANION_SUFFIXES = ['', '-wal', '-shm'] as const;

/**
 * Creates an empty database file readable by its owner only. `O_EXCL` with mode 0600 at
 * creation: the file is never readable by others, not even for an instant (umask only
 * removes bits). SQLite gives its -wal and -shm files the mode of the database file.
 */
export function createOwnerOnly(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) {
      throw new CtopError('E_STORE_PERMISSIONS', `${file} was created accessible by others`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses a database whose file, -wal or -shm is accessible by group or others: the
 * customs information is confidential (CTOP Protocol Art. 6). The message carries the
 * exact chmod to run.
 */
export function assertOwnerOnly(file: string): void {
  const exposed: string[] = [];
  for (const suffix of COMPANION_SUFFIXES) {
    const candidate = `${file}${suffix}`;
    if (!existsSync(candidate)) continue;
    const st = statSync(candidate);
    if (!st.isFile()) throw new CtopError('E_STORE_OPEN', `${candidate} is not a regular file`);
    if ((st.mode & 0o077) !== 0) exposed.push(candidate);
  }
  if (exposed.length > 0) {
    const quoted = exposed.map((f) => `'${f.replaceAll("'", "'\\''")}'`).join(' ');
    throw new CtopError(
      'E_STORE_PERMISSIONS',
      `${exposed.join(', ')} ${exposed.length === 1 ? 'is' : 'are'} readable by group or others; run: chmod 600 ${quoted}`,
      { details: { files: exposed } },
    );
  }
}
