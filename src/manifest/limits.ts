import type { CborLimits } from '../cbor/index.js';

/** Structural limits, all enforced before the bytes are decoded (MANIFEST.md §7). */
export interface ManifestLimits {
  /** Largest signed manifest accepted, in bytes; default 256 KiB. Also caps goods files ×16. */
  maxBytes: number;
  /** Most goods lines in one manifest; default 1000. */
  maxGoodsLines: number;
  /** Deepest nesting of CBOR arrays and maps; default 8 (a manifest needs 4). */
  maxDepth: number;
  /** Longest text string in UTF-8 bytes; default 2048. */
  maxTextBytes: number;
  /** Most recipients a body is encrypted for; default 16. */
  maxRecipients: number;
  /** Most identification numbers on one goods line; default 1000. */
  maxIdsPerLine: number;
}

export const DEFAULT_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  maxBytes: 256 * 1024,
  maxGoodsLines: 1000,
  maxDepth: 8,
  maxTextBytes: 2048,
  maxRecipients: 16,
  maxIdsPerLine: 1000,
});

export function resolveLimits(limits: Partial<ManifestLimits> = {}): ManifestLimits {
  const merged = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(limits)) {
    if (v !== undefined) {
      if (!Number.isSafeInteger(v) || v <= 0)
        throw new TypeError(`manifest limit ${k} must be a positive integer`);
      merged[k as keyof ManifestLimits] = v;
    }
  }
  return merged;
}

/** Limits for the COSE_Sign1 envelope and payload: no map is large, byte strings are. */
export function envelopeCborLimits(limits: ManifestLimits): CborLimits {
  return {
    maxDepth: limits.maxDepth,
    maxTextBytes: limits.maxTextBytes,
    maxArrayLength: Math.max(limits.maxRecipients, 32),
    maxMapSize: 32,
    allowedTags: [18],
  };
}

/** Limits for the decrypted goods body: the goods array is the one long array. */
export function bodyCborLimits(limits: ManifestLimits): CborLimits {
  return {
    maxDepth: limits.maxDepth,
    maxTextBytes: limits.maxTextBytes,
    maxArrayLength: Math.max(limits.maxGoodsLines, limits.maxIdsPerLine),
    maxMapSize: 32,
    maxByteStringBytes: 0,
  };
}
