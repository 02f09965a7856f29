import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CtopError } from './errors.js';

export interface AtomicWriteOptions {
  /** Replace an existing file (default). false: refuse it, with `exists()`'s error. */
  overwrite?: boolean;
  /** The error for an existing target when overwrite is false. */
  exists?: (target: string) => CtopError;
}

/**
 * Writes a file so that a reader sees the old content or the new, never half of it, and a
 * crash leaves no torn file: a temporary file beside the target, created exclusively with
 * its final mode (a key or a bundle is never readable by others, not even for an instant),
 * fsync'd, then renamed over the target — or hard-linked, which fails on an existing
 * target, when overwriting is not allowed.
 */
export function writeFileAtomic(
  target: string,
  content: string | Uint8Array,
  mode: number,
  options: AtomicWriteOptions = {},
): void {
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (err) {
    throw new CtopError('E_FILE', `cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw new CtopError('E_FILE', `cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
  closeSync(fd);
  try {
    if (options.overwrite === false) {
      linkSync(tmp, target);
      unlinkSync(tmp);
    } else {
      renameSync(tmp, target);
    }
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed already
    }
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && options.exists) throw options.exists(target);
    throw new CtopError('E_FILE', `cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
}
