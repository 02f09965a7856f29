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
  /** Every lock the bundle mentions travels with its pinned key. */
  const lockIds = new Set<string>();
  const { manifests, purged } = exportManifests(store, options.since, lockIds);
  const exported = new Set(manifests.map((m) => m.manifestId));
  const contents: BundleContents = {
    gatewayId: options.gatewayId,
    createdAt: options.now,
    since: options.since,
    locks: [],
    manifests,
    reads: exportReads(store, options.since, exported, lockIds),
    events: [],
    alerts: [],
  };
  for (const e of store.events.storedSince(options.since)) {
    lockIds.add(e.lockId);
    const { readId: _readId, storedAt: _storedAt, ...event } = e;
    contents.events.push(event);
  }
  contents.alerts = exportAlerts(store, options.since, exported, lockIds);
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

/** Manifests received since `since` with their bytes; those retention purged are counted, not exported. */
function exportManifests(
  store: Store,
  since: number,
  lockIds: Set<string>,
): { manifests: BundleContents['manifests']; purged: number } {
  const manifestRows = store.db
    .prepare(`SELECT manifest_id FROM manifest WHERE received_at >= ? ORDER BY received_at, manifest_id`)
    .pluck()
    .all(since) as string[];
  const manifests: BundleContents['manifests'] = [];
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
    manifests.push({
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
  return { manifests, purged };
}

/** Read records stored since `since`; a manifest id only when that manifest travels too. */
function exportReads(
  store: Store,
  since: number,
  exported: Set<string>,
  lockIds: Set<string>,
): BundleContents['reads'] {
  const reads: BundleContents['reads'] = [];
  for (const read of store.reads.ingestedSince(since)) {
    if (read.lockId) lockIds.add(read.lockId);
    reads.push({
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
  return reads;
}

/** Alerts raised since `since`; a manifest id only when that manifest travels too. */
function exportAlerts(
  store: Store,
  since: number,
  exported: Set<string>,
  lockIds: Set<string>,
): BundleContents['alerts'] {
  const alerts: BundleContents['alerts'] = [];
  for (const a of store.alerts.raisedSince(since)) {
    if (a.lockId) lockIds.add(a.lockId);
    alerts.push({
      kind: a.kind,
      lockId: a.lockId,
      manifestId: a.manifestId !== undefined && exported.has(a.manifestId) ? a.manifestId : undefined,
      subject: a.subject,
      detail: a.detail,
      evidence: a.evidence,
      raisedAt: a.raisedAt,
    });
  }
  return alerts;
}
