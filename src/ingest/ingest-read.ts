import type { TrustStore } from '../keys/index.js';
import type { LockReadResult } from '../lock/reader.js';
import type { Logger } from '../log.js';
import { inspectManifest, type ManifestLimits } from '../manifest/index.js';
import type { ManifestInspection, ReadToRecord, RecordedRead, Store } from '../store/index.js';
import { toReadRecord } from './read-record.js';
import { decideVerdict } from './verdict.js';

export interface IngestReadOptions {
  store: Store;
  trust: TrustStore;
  gatewayId: string;
  log: Logger;
  limits?: Partial<ManifestLimits>;
  now?: number;
}

/**
 * Ingests one lock read: decides its whole verdict — the manifest's signature against the
 * trust store (never decrypted), the lock's trust, tamper findings and chain alerts — and
 * has the store record it, with its checkpoint, in one transaction. A failed read that got
 * part of a manifest leaves a checkpoint so the next read continues where this one stopped.
 */
export function ingestRead(result: LockReadResult, options: IngestReadOptions): RecordedRead {
  const { store, gatewayId } = options;
  const inspection = result.manifest ? inspect(result, options) : undefined;
  const input: ReadToRecord = {
    read: toReadRecord(result, gatewayId),
    ...(inspection ? { inspection } : {}),
    ...(result.outcome === 'failed' && result.checkpoint ? { checkpoint: result.checkpoint } : {}),
  };
  return store.recordRead(input, (decided, known) => decideVerdict(decided, known, { tamper: true }));
}

/**
 * Ingests a read already in the store's shape (a record without the reader's context, as
 * the store's own tests hand over): the same verdict, without the assessment of the lock's
 * log and seal state, with the caller's further alerts after it.
 */
export function ingestRecord(store: Store, input: ReadToRecord): RecordedRead {
  return store.recordRead(input, (decided, known) => decideVerdict(decided, known, { tamper: false }));
}

/** The manifest's signature verdict; a failure is logged here, and flagged by the verdict. */
function inspect(result: LockReadResult, options: IngestReadOptions): ManifestInspection {
  const inspected = inspectManifest(result.manifest!, options.trust, {
    ...(options.now !== undefined ? { now: options.now } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  if (inspected.verification.status !== 'valid') {
    options.log.warn(
      {
        code: inspected.verification.code ?? 'E_MANIFEST_MALFORMED',
        lockId: result.info?.id,
        manifestId: inspected.manifestId,
        status: inspected.verification.status,
        detail: inspected.verification.detail,
      },
      'manifest failed verification: kept as evidence, flagged and reported, never treated as valid',
    );
  }
  return {
    manifestId: inspected.manifestId,
    size: inspected.size,
    verification: inspected.verification,
    ...(inspected.routing ? { routing: inspected.routing } : {}),
  };
}
