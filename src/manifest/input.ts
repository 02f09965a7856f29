import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { CtopError } from '../errors.js';
import { parseCsvGoods } from './input-csv.js';
import { parseJsonGoods } from './input-json.js';
import type { LineLocator } from './issues.js';
import { type ManifestLimits, resolveLimits } from './limits.js';

export type GoodsFileFormat = 'json' | 'csv';

export interface ParsedGoodsFile {
  /** The goods file's content, ready for `composeManifest`. */
  input: unknown;
  locate: LineLocator;
  source: string;
  format: GoodsFileFormat;
}

/** A goods file holds text; its size is capped at 16× the manifest limit (4 MiB by default). */
export const GOODS_FILE_SIZE_FACTOR = 16;

export function parseGoodsFile(
  text: string,
  format: GoodsFileFormat,
  source = `goods.${format}`,
): ParsedGoodsFile {
  const parsed = format === 'json' ? parseJsonGoods(text, source) : parseCsvGoods(text, source);
  return { ...parsed, source, format };
}

export function formatFromName(file: string): GoodsFileFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  throw new CtopError('E_USAGE', `cannot tell the format of ${file} from its name; pass --format json|csv`);
}

/** Reads a goods file, refusing an oversized one before reading it. */
export function readGoodsFile(
  file: string,
  options: { format?: GoodsFileFormat; limits?: Partial<ManifestLimits> } = {},
): ParsedGoodsFile {
  const format = options.format ?? formatFromName(file);
  const max = resolveLimits(options.limits).maxBytes * GOODS_FILE_SIZE_FACTOR;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new CtopError('E_FILE', `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    if (size > max) {
      throw new CtopError(
        'E_MANIFEST_TOO_LARGE',
        `${file} is ${size} bytes; goods files are limited to ${max}`,
        {
          details: { size, limit: max },
        },
      );
    }
    const buf = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buf, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    const text = buf.subarray(0, read).toString('utf8');
    return parseGoodsFile(text.startsWith('\ufeff') ? text.slice(1) : text, format, path.basename(file));
  } finally {
    closeSync(fd);
  }
}
