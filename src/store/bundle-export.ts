import type { PrivateKey } from '../keys/index.js';
import { type BundleContents, sealBundle } from './bundle-format.js';
import type { Store } from './store.js';

export interface ExportOptions {
  /** Everything stored at or after this time (ms). */
  since: number;
  gatewayId: string;
  /** The gateway's Ed25519 key (role gateway); its public half travels in the bundle. */
  key: PrivateKey;
  now: number;
}

export interface ExportSummary {
  manifests: number;
  reads: number;
  events: number;
  alerts: number;
  locks: number;
  /** Manifests received since `since` whose bytes retention already purged (acknowledged, not exported). */
  purged: number;
}

/** Collects what was stored since `options.since` and signs it into bundle bytes. */
export function exportBundle(
  store: Store,
  options: ExportOptions,
): { bundle: Buffer; summary: ExportSummary } {
  const db = store.db;
  const manifestRows = db
    .prepare(`SELECT manifest_id FROM manifest WHERE received_at >= ? ORDER BY received_at, manifest_id`)
    .pluck()
    .all(options.since) as string[];
  const contents: BundleContents = {
    gatewayId: options.gatewayId,
    createdAt: options.now,
    since: options.since,
    locks: [],
    manifests: [],
    reads: [],
    events: [],
    alerts: [],
  };
  const lockIds = new Set<string>();
  let purged = 0;
  for (const id of manifestRows) {
    const m = store.manifests.get(id)!;
    const bytes = store.manifests.bytes(id);
    if (!bytes) {
      purged++;
      continue;
    }
    if (m.lockId) lockIds.add(m.lockId);
    const r = m.routing;
    contents.manifests.push({
      manifestId: id,
      bytes,
      receivedAt: m.receivedAt,
      lockId: m.lockId,
      verification: m.verification,
      verificationDetail: m.verificationDetail,
      signerKid: m.signerKid,
      routing:
        r?.lockId !== undefined &&
        r.container !== undefined &&
        r.wagon !== undefined &&
        r.departure !== undefined &&
        r.destination !== undefined &&
        r.createdAt !== undefined &&
        r.signerKid !== undefined
          ? {
              lockId: r.lockId,
              container: r.container,
              wagon: r.wagon,
              train: r.train,
              departure: r.departure,
              destination: r.destination,
              departureCountry: r.departureCountry,
              destinationCountry: r.destinationCountry,
              createdAt: r.createdAt,
              signerKid: r.signerKid,
            }
          : undefined,
    });
  }
  const exported = new Set(contents.manifests.map((m) => m.manifestId));
  for (const read of store.reads.ingestedSince(options.since)) {
    if (read.lockId) lockIds.add(read.lockId);
    contents.reads.push({
      readUid: read.readUid,
      gatewayId: read.gatewayId,
      transport: read.transport,
      endpoint: read.endpoint,
      startedAt: read.startedAt,
      finishedAt: read.finishedAt,
      outcome: read.outcome,
      errorCode: read.errorCode,
      errorMessage: read.errorMessage,
      lockId: read.lockId,
      presentedKey: read.presentedKey,
      authenticated: read.authenticated,
      trust: read.trust,
      firmware: read.firmware,
      battery: read.battery,
      sealState: read.sealState,
      manifestSize: read.manifestSize,
      manifestSha256: read.manifestSha256,
      eventCount: read.eventCount,
      eventHead: read.eventHead,
      manifestId:
        read.manifestId !== undefined && exported.has(read.manifestId) ? read.manifestId : undefined,
      eventsRead: read.eventsRead,
      evidence: read.evidence,
      stats: read.stats,
    });
  }
  for (const e of store.events.storedSince(options.since)) {
    lockIds.add(e.lockId);
    const { readId: _readId, storedAt: _storedAt, ...event } = e;
    contents.events.push(event);
  }
  for (const a of store.alerts.raisedSince(options.since)) {
    if (a.lockId) lockIds.add(a.lockId);
    contents.alerts.push({
      kind: a.kind,
      lockId: a.lockId,
      manifestId: a.manifestId !== undefined && exported.has(a.manifestId) ? a.manifestId : undefined,
      subject: a.subject,
      detail: a.detail,
      evidence: a.evidence,
      raisedAt: a.raisedAt,
    });
  }
  for (const lockId of [...lockIds].sort()) {
    const lock = store.locks.get(lockId);
    contents.locks.push({ lockId, identityKey: lock?.identityKey });
  }
  return {
    bundle: sealBundle(contents, options.key),
    summary: {
      manifests: contents.manifests.length,
      reads: contents.reads.length,
      events: contents.events.length,
      alerts: contents.alerts.length,
      locks: contents.locks.length,
      purged,
    },
  };
}
