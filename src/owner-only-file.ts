import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CtopError } from './errors.js';

/** How a small-file read fails, in the caller's error codes. */
export interface SmallFileErrors {
  /** The file cannot be opened (missing, no permission to read it). */
  unreadable: (message: string, cause: unknown) => CtopError;
  /** It is not a regular file, or larger than the bound. */
  invalid: (message: string) => CtopError;
}

/**
 * Reads a small file (a key, a password) whole, bounded before anything is allocated: the
 * size comes from fstat on the open descriptor, so the mode returned is that of the very
 * file read (no race with a rename between a stat and the read).
 */
export function readSmallFile(
  file: string,
  maxBytes: number,
  what: string,
  errors: SmallFileErrors,
): { bytes: Buffer; mode: number } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch (err) {
    throw errors.unreadable(`cannot open ${what} ${file}: ${(err as Error).message}`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw errors.invalid(`${what} ${file} is not a regular file`);
    if (st.size > maxBytes) throw errors.invalid(`${what} ${file} is larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buf, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: buf.subarray(0, read), mode: st.mode };
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses — like ssh — a secret file that group or others may access (E_KEY_PERMISSIONS,
 * with the chmod to run): private keys and the broker password alike.
 */
export function assertOwnerOnly(file: string, mode: number, what: string): void {
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new CtopError(
      'E_KEY_PERMISSIONS',
      `${what} ${file} has mode ${octal} and is accessible by group or others; refusing to use it. Run: chmod 600 ${file}`,
      { details: { file, mode: octal } },
    );
  }
}
