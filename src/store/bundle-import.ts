import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { encodeCanonical } from '../cbor/index.js';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';
import { type BundleContents, openBundle } from './bundle-format.js';
import { encodeEvents } from './lock-events.js';
import { manifestRoutingFields, type OutboxRouting } from './outbox.js';
import type { Store } from './store.js';
import type { LockEventRecord, ManifestInspection, StoredVerification } from './types.js';

export interface ImportOptions {
  /** The key the bundle must be signed with: the sending gateway's, from a trust store or its .pub file. */
  trustedSigner: { kid?: string; publicKey: Uint8Array };
  /** Re-inspects each new manifest with this side's trust store; without it the sender's verdict is kept. */
  inspect?: (bytes: Uint8Array) => ManifestInspection;
  now: number;
  log?: Logger;
}

export interface ImportSummary {
  /** The very same bundle file was imported before: nothing was done. */
  alreadyImported: boolean;
  gatewayId: string;
  signerKid: string;
  manifests: { new: number; seen: number };
  reads: { new: number; seen: number };
  events: { new: number; seen: number; conflicts: number; skipped: number };
  alerts: { new: number; seen: number };
  outboxIds: number[];
}

/**
 * Imports a bundle in one transaction, deduplicated item by item (manifests by SHA-256,
 * reads by uid, events by lock and counter, alerts by fingerprint) and queues what is new
 * for this gateway's sync, so the data reaches the exchange from wherever the network is.
 */
export function importBundle(store: Store, file: Uint8Array, options: ImportOptions): ImportSummary {
  const { signer, contents } = openBundle(file, options.trustedSigner);
  const bundleSha = createHash('sha256').update(file).digest();
  const summary: ImportSummary = {
    alreadyImported: false,
    gatewayId: contents.gatewayId,
    signerKid: signer.kid,
    manifests: { new: 0, seen: 0 },
    reads: { new: 0, seen: 0 },
    events: { new: 0, seen: 0, conflicts: 0, skipped: 0 },
    alerts: { new: 0, seen: 0 },
    outboxIds: [],
  };
  const run = store.db.transaction(() =>
    importContents(store, store.db, contents, bundleSha, signer.kid, options, summary),
  ).immediate;
  try {
    run();
  } catch (err) {
    if (err instanceof CtopError) throw err;
    throw new CtopError('E_STORE_IO', `import: ${(err as Error).message}`, { cause: err });
  }
  options.log?.info(
    { gatewayId: summary.gatewayId, signerKid: summary.signerKid, ...countsOf(summary) },
    'bundle imported',
  );
  return summary;
}

function countsOf(s: ImportSummary): Record<string, number> {
  return { manifests: s.manifests.new, reads: s.reads.new, events: s.events.new, alerts: s.alerts.new };
}

/** What every step of one import shares: the store, its summary, the time, where the bundle came from. */
interface ImportRun {
  store: Store;
  summary: ImportSummary;
  now: number;
  /** Routing field of every outbox row the import queues. */
  origin: { importedFrom: string };
  gatewayId: string;
}

function importContents(
  store: Store,
  db: Database.Database,
  contents: BundleContents,
  bundleSha: Buffer,
  signerKid: string,
  options: ImportOptions,
  summary: ImportSummary,
): void {
  const importId = beginImport(db, contents, bundleSha, signerKid, options.now);
  if (importId === undefined) {
    summary.alreadyImported = true;
    return;
  }
  const run: ImportRun = {
    store,
    summary,
    now: options.now,
    origin: { importedFrom: contents.gatewayId },
    gatewayId: contents.gatewayId,
  };
  const conflicting = importLocks(run, contents.locks);
  importManifests(run, contents.manifests, options.inspect);
  importReads(run, contents.reads, importId);
  importEvents(run, contents.events, conflicting);
  importAlerts(run, contents.alerts);
  db.prepare('UPDATE bundle_import SET counts = ? WHERE import_id = ?').run(
    JSON.stringify(countsOf(summary)),
    importId,
  );
}

/** Records the bundle as imported; undefined when the very same file was imported before. */
function beginImport(
  db: Database.Database,
  contents: BundleContents,
  bundleSha: Buffer,
  signerKid: string,
  now: number,
): number | undefined {
  const seenBefore = db
    .prepare('SELECT import_id FROM bundle_import WHERE bundle_sha256 = ?')
    .pluck()
    .get(bundleSha);
  if (seenBefore !== undefined) return undefined;
  return Number(
    db
      .prepare(
        'INSERT INTO bundle_import (bundle_sha256, gateway_id, signer_kid, created_at, imported_at, counts) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(bundleSha, contents.gatewayId, signerKid, contents.createdAt, now, '{}').lastInsertRowid,
  );
}

/**
 * Locks: a key travels with the bundle; it pins a lock this gateway has no key for, and a
 * different key than the one pinned here is a clone alert (its events are not merged).
 * Returns the locks whose keys conflict.
 */
function importLocks(run: ImportRun, locks: BundleContents['locks']): Set<string> {
  const { store, now } = run;
  const conflicting = new Set<string>();
  for (const l of locks) {
    const known = store.locks.ensure(l.lockId, now);
    if (!l.identityKey) continue;
    if (!known.identityKey) {
      store.locks.pin(l.lockId, l.identityKey, 'imported', now);
    } else if (!known.identityKey.equals(l.identityKey)) {
      conflicting.add(l.lockId);
      raise(
        run,
        {
          kind: 'clone',
          lockId: l.lockId,
          subject: `key:${Buffer.from(l.identityKey).toString('hex')}`,
          detail: `bundle from ${run.gatewayId} carries another identity key for lock ${l.lockId} than the one pinned here`,
          evidence: l.identityKey,
        },
        now,
      );
    }
  }
  return conflicting;
}

/** The sender's verdict on a manifest, or this side's when it re-inspects. */
function inspectionOf(
  m: BundleContents['manifests'][number],
  gatewayId: string,
  inspect: ImportOptions['inspect'],
): ManifestInspection | undefined {
  if (inspect) return inspect(m.bytes);
  if (m.verification === 'unverified') return undefined;
  return {
    manifestId: m.manifestId,
    size: m.bytes.byteLength,
    verification: {
      status: m.verification,
      ...(m.signerKid === undefined ? {} : { signerKid: m.signerKid }),
      detail: `as verified by gateway ${gatewayId}${m.verificationDetail ? `: ${m.verificationDetail}` : ''}`,
    },
    ...(m.routing ? { routing: m.routing } : {}),
  };
}

/** New manifests stored and queued; one that is not valid raises its alert. */
function importManifests(
  run: ImportRun,
  manifests: BundleContents['manifests'],
  inspect: ImportOptions['inspect'],
): void {
  const { store, summary, now, origin } = run;
  for (const m of manifests) {
    if (store.manifests.get(m.manifestId)) {
      summary.manifests.seen++;
      continue;
    }
    const inspection = inspectionOf(m, run.gatewayId, inspect);
    if (m.lockId) store.locks.ensure(m.lockId, now);
    store.manifests.insert(m.manifestId, m.bytes, inspection, m.lockId, now);
    summary.manifests.new++;
    const status: StoredVerification = inspection?.verification.status ?? 'unverified';
    const r = inspection?.routing;
    const routing: OutboxRouting = {
      manifestId: m.manifestId,
      lockId: m.lockId ?? null,
      verification: status,
      ...origin,
      ...(r ? manifestRoutingFields(r) : {}),
    };
    summary.outboxIds.push(store.outbox.insertRow('manifest', m.manifestId, m.bytes, routing, now));
    if (inspection && status !== 'valid') {
      raise(
        run,
        {
          kind: status,
          ...(m.lockId === undefined ? {} : { lockId: m.lockId }),
          manifestId: m.manifestId,
          subject: status,
          detail: `manifest ${m.manifestId.slice(0, 16)}… ${status.replace('_', ' ')}${inspection.verification.detail ? `: ${inspection.verification.detail}` : ''}; kept as evidence`,
        },
        now,
      );
    }
  }
}

/** Read records new here, as the sender kept them (their events travel separately). */
function importReads(run: ImportRun, reads: BundleContents['reads'], importId: number): void {
  const { store, summary, now } = run;
  for (const r of reads) {
    if (store.reads.byUid(r.readUid)) {
      summary.reads.seen++;
      continue;
    }
    if (r.lockId) store.locks.ensure(r.lockId, now);
    store.reads.insert({
      read: {
        gatewayId: r.gatewayId,
        transport: r.transport,
        endpoint: r.endpoint,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        outcome: r.outcome,
        ...(r.errorCode === undefined ? {} : { error: { code: r.errorCode, message: r.errorMessage ?? '' } }),
        ...(r.lockId === undefined || r.presentedKey === undefined
          ? {}
          : {
              lock: {
                lockId: r.lockId,
                identityKey: r.presentedKey,
                firmware: r.firmware ?? '',
                battery: r.battery ?? 0,
                sealState: r.sealState ?? 0,
                manifestSize: r.manifestSize ?? 0,
                manifestSha256: r.manifestSha256 ?? new Uint8Array(32),
                eventCount: r.eventCount ?? 0,
                eventHead: r.eventHead ?? new Uint8Array(32),
              },
            }),
        authenticated: r.authenticated,
        events: [],
        chainProblems: [],
        stats: r.stats,
      },
      uid: r.readUid,
      trust: r.trust,
      ...(r.manifestId !== undefined && store.manifests.get(r.manifestId)
        ? { manifestId: r.manifestId }
        : {}),
      eventsRead: r.eventsRead,
      eventsNew: 0,
      ...(r.evidence === undefined ? {} : { evidence: r.evidence }),
      now,
      importId,
    });
    summary.reads.new++;
  }
}

/**
 * Events new here are stored and queued, one outbox row per lock; one that differs from
 * the event stored for its counter is a tamper alert; those of conflicting locks are skipped.
 */
function importEvents(run: ImportRun, events: BundleContents['events'], conflicting: Set<string>): void {
  const { store, summary, now } = run;
  const fresh = new Map<string, LockEventRecord[]>();
  for (const e of events) {
    if (conflicting.has(e.lockId)) {
      summary.events.skipped++;
      continue;
    }
    store.locks.ensure(e.lockId, now);
    const { lockId, ...event } = e;
    if (store.events.insert(lockId, event, undefined, now)) {
      summary.events.new++;
      fresh.set(lockId, [...(fresh.get(lockId) ?? []), event]);
      continue;
    }
    const stored = store.events.get(lockId, e.counter)!;
    if (stored.hash.equals(e.hash)) {
      summary.events.seen++;
      continue;
    }
    summary.events.conflicts++;
    raise(
      run,
      {
        kind: 'tamper',
        lockId,
        subject: `event:${e.counter}:${Buffer.from(e.hash).toString('hex')}`,
        detail: `lock ${lockId} event ${e.counter} in the bundle from ${run.gatewayId} differs from the one stored here`,
        evidence: encodeEvents(lockId, undefined, [event]),
      },
      now,
    );
  }
  for (const [lockId, lockEvents] of fresh) {
    const key = store.locks.get(lockId)?.identityKey;
    summary.outboxIds.push(
      store.outbox.insertRow(
        'lock_events',
        undefined,
        encodeEvents(lockId, key, lockEvents),
        {
          lockId,
          firstCounter: lockEvents[0]!.counter,
          lastCounter: lockEvents.at(-1)!.counter,
          count: lockEvents.length,
          ...run.origin,
        },
        now,
      ),
    );
  }
}

/** The sender's alerts, raised here at their own time (repeats are one alert). */
function importAlerts(run: ImportRun, alerts: BundleContents['alerts']): void {
  const { store, now } = run;
  for (const a of alerts) {
    if (a.lockId) store.locks.ensure(a.lockId, now);
    raise(
      run,
      {
        kind: a.kind,
        ...(a.lockId === undefined ? {} : { lockId: a.lockId }),
        ...(a.manifestId !== undefined && store.manifests.get(a.manifestId)
          ? { manifestId: a.manifestId }
          : {}),
        subject: a.subject,
        detail: a.detail,
        ...(a.evidence === undefined ? {} : { evidence: a.evidence }),
      },
      a.raisedAt,
    );
  }
}

function raise(
  run: ImportRun,
  alert: {
    kind: string;
    lockId?: string;
    manifestId?: string;
    subject: string;
    detail: string;
    evidence?: Uint8Array;
  },
  at: number,
): void {
  const { store, summary, origin } = run;
  const raised = store.alerts.raise(alert, undefined, at);
  if (!raised.new) {
    summary.alerts.seen++;
    return;
  }
  summary.alerts.new++;
  summary.outboxIds.push(
    store.outbox.insertRow(
      'alert',
      undefined,
      encodeCanonical({ alertId: raised.alertId, ...alert, raisedAt: at, gatewayId: origin.importedFrom }),
      {
        alertKind: alert.kind,
        alertId: raised.alertId,
        lockId: alert.lockId ?? null,
        manifestId: alert.manifestId ?? null,
        ...origin,
      },
      at,
    ),
  );
}
