import type { TrustStore } from '../keys/index.js';
import type { LockReadResult } from '../lock/reader.js';
import { assessTamper } from '../lock/tamper.js';
import type { Logger } from '../log.js';
import { inspectManifest, type ManifestLimits } from '../manifest/index.js';
import type { IngestResult, Store } from '../store/index.js';
import type { AlertInput, ManifestInspection } from '../store/types.js';
import { toReadRecord } from './read-record.js';

export interface IngestReadOptions {
  store: Store;
  trust: TrustStore;
  gatewayId: string;
  log: Logger;
  limits?: Partial<ManifestLimits>;
  now?: number;
}

/**
 * Everything a lock read produced, verified and stored in one store transaction: the
 * manifest is inspected against the trust store (never decrypted), the read record,
 * events, chain problems and alerts go in together. A failed read that got part of a
 * manifest leaves a checkpoint so the next read continues where this one stopped.
 */
export function ingestRead(result: LockReadResult, options: IngestReadOptions): IngestResult {
  const { store, trust, gatewayId, log } = options;
  let inspection: ManifestInspection | undefined;
  if (result.manifest) {
    const inspected = inspectManifest(result.manifest, trust, {
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    inspection = {
      manifestId: inspected.manifestId,
      size: inspected.size,
      verification: inspected.verification,
      ...(inspected.routing ? { routing: inspected.routing } : {}),
    };
    if (inspected.verification.status !== 'valid') {
      log.warn(
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
  }
  if (result.outcome === 'failed' && result.checkpoint) store.saveReadCheckpoint(result.checkpoint);
  const alerts = tamperAlerts(result, store, inspection?.manifestId);
  return store.ingest({
    read: toReadRecord(result, gatewayId),
    ...(inspection ? { inspection } : {}),
    ...(alerts.length > 0 ? { alerts } : {}),
  });
}

/**
 * What the lock's own log and seal state say happened since loading (src/lock/tamper.ts),
 * as tamper alerts tied to the manifest so the officer sees them beside it. Only for a
 * complete read in which the lock proved its identity key: the log of a lock that could
 * not is evidence of a clone, which the store reports itself. Chain breaks, gaps and bad
 * signatures are the store's to raise from the read's chain problems.
 */
function tamperAlerts(result: LockReadResult, store: Store, manifestId: string | undefined): AlertInput[] {
  const info = result.info;
  if (!info || !result.auth || result.outcome !== 'complete') return [];
  const known = store.locks.get(info.id);
  const knownKey = known?.identityKey;
  const sameLock = knownKey?.equals(info.key) === true;
  return assessTamper({
    lockId: info.id,
    sealState: info.seal,
    manifestHash: info.msize > 0 ? info.mhash : undefined,
    eventCount: info.ecount,
    events: result.events,
    ...(sameLock && known?.eventCount !== undefined ? { knownEventCount: known.eventCount } : {}),
  }).map((f) => ({
    kind: 'tamper',
    lockId: info.id,
    ...(manifestId ? { manifestId } : {}),
    subject: `lock_log:${f.kind}:${f.counter}`,
    detail: f.detail,
  }));
}
