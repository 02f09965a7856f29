import type { LockReadResult } from '../lock/reader.js';
import type { LockReadRecord } from '../store/types.js';

/** The lock reader's result in the shape the store keeps (src/store/types.ts). */
export function toReadRecord(result: LockReadResult, gatewayId: string): LockReadRecord {
  const info = result.info;
  return {
    gatewayId,
    transport: result.transport,
    endpoint: result.endpoint,
    startedAt: Math.floor(result.startedAt),
    finishedAt: Math.floor(Math.max(result.finishedAt, result.startedAt)),
    outcome: result.outcome,
    ...(result.error
      ? { error: { code: result.error.code, message: result.error.message.slice(0, 4096) } }
      : {}),
    ...(info
      ? {
          lock: {
            lockId: info.id,
            identityKey: info.key,
            firmware: info.fw,
            battery: info.bat,
            sealState: info.seal,
            manifestSize: info.msize,
            manifestSha256: info.mhash,
            eventCount: info.ecount,
            eventHead: info.ehead,
          },
        }
      : {}),
    authenticated: result.auth !== undefined,
    ...(result.manifest ? { manifest: result.manifest } : {}),
    events: result.events.map((e) => ({
      counter: e.counter,
      time: e.time,
      kind: e.kind,
      detail: e.detail,
      prev: e.prev,
      sig: e.sig,
      hash: e.hash,
    })),
    chainProblems: result.chainProblems.map((p) => ({ kind: p.kind, counter: p.counter, detail: p.detail })),
    stats: {
      bytesRead: result.stats.bytesIn,
      frames: result.stats.framesIn,
      retries: result.stats.retransmits,
      resumes: result.stats.resumedFrom.length,
      crcErrors: result.stats.crcErrors,
    },
  };
}
