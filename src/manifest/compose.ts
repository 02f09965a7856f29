import { type Clock, systemClock } from '../clock.js';
import { CtopError } from '../errors.js';
import { asRecord, checkKeys, readFlag } from './fields.js';
import { Issues, type LineLocator, type ManifestIssue } from './issues.js';
import { type ManifestLimits, resolveLimits } from './limits.js';
import { encodeDraft } from './payload.js';
import type { Manifest } from './types.js';
import { BODY_KEYS, EXCLUSION_FLAGS, validateBody } from './validate-body.js';
import { ROUTING_KEYS, validateRouting } from './validate-routing.js';

export interface ComposeOptions {
  /** Fills a missing `createdAt`; default the system clock. */
  clock?: Clock;
  limits?: Partial<ManifestLimits>;
  /** Maps field paths to lines of the goods file, for messages. */
  locate?: LineLocator;
  /** Name of the goods file, for messages. */
  source?: string;
}

export interface ComposedManifest {
  manifest: Manifest;
  /** Accepted but worth a look: wagon numbers without check digit, routes outside CTOP. */
  warnings: ManifestIssue[];
}

/** Top-level fields of a goods file: the routing and body fields side by side (MANIFEST.md §8). */
export const INPUT_KEYS: readonly string[] = [...ROUTING_KEYS, ...BODY_KEYS, ...EXCLUSION_FLAGS];

/**
 * Validates a goods file's content (parsed JSON or CSV, see input.ts) into a manifest.
 * Every problem is collected; the CtopError thrown carries the first one's code and lists
 * all of them with field path and line.
 */
export function composeManifest(input: unknown, options: ComposeOptions = {}): ComposedManifest {
  const limits = resolveLimits(options.limits);
  const issues = new Issues('input', options.locate);
  const record = asRecord(input, '', issues);
  if (!record) {
    issues.throwIfAny(options.source);
    throw new CtopError('E_INTERNAL', 'unreachable');
  }
  checkKeys(record, INPUT_KEYS, '', issues);
  if (readFlag(record, 'personalUse', '', issues)) {
    issues.error(
      'personalUse',
      'E_MANIFEST_EXCLUDED',
      'goods for personal use are not exchanged (CTOP Protocol Art. 2)',
    );
  }
  if (readFlag(record, 'postal', '', issues)) {
    issues.error(
      'postal',
      'E_MANIFEST_EXCLUDED',
      'international postal items are not exchanged (CTOP Protocol Art. 2)',
    );
  }
  const now = (options.clock ?? systemClock).now();
  const routing = validateRouting(record, '', issues, now);
  const body = validateBody(record, '', issues, limits);
  // Exclusions first: a postal consignment is refused whatever else is wrong with it.
  issues.errors.sort(
    (a, b) => Number(b.code === 'E_MANIFEST_EXCLUDED') - Number(a.code === 'E_MANIFEST_EXCLUDED'),
  );
  issues.throwIfAny(options.source);
  const manifest = { routing: routing!, body: body! };
  const size = encodeDraft(manifest).byteLength;
  if (size > limits.maxBytes) {
    throw new CtopError(
      'E_MANIFEST_TOO_LARGE',
      `${options.source ?? 'manifest'}: the manifest would be ${size} bytes before encryption; at most ${limits.maxBytes}. Split the consignment`,
      { details: { size, limit: limits.maxBytes } },
    );
  }
  return { manifest, warnings: issues.warnings };
}
