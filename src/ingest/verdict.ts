import type { LockEvent } from '../lock/event-log.js';
import {
  type AlertInput,
  encodeEvents,
  type KnownLock,
  type LockDescription,
  type LockEventRecord,
  type LockReadRecord,
  type ReadToRecord,
  type ReadVerdict,
} from '../store/index.js';
import { judgeRead } from './lock-trust.js';
import { assessTamper } from './tamper.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface VerdictOptions {
  /**
   * Assess the lock's own log and seal state (src/ingest/tamper.ts). On for every read a
   * lock reader made; off for a record handed over without that context.
   */
  tamper: boolean;
}

/**
 * The whole verdict on one read, decided from the read and what the store knows of its
 * lock (asked inside the transaction that records it): how far the lock is trusted, which
 * of its events are new, and every alert — lock trust (clone, unknown lock), the manifest's
 * signature verdict and routing, a hash mismatch, events that rewrite stored ones, chain
 * problems and tamper findings, in that order.
 */
export function decideVerdict(input: ReadToRecord, known: KnownLock, options: VerdictOptions): ReadVerdict {
  const { read } = input;
  const lock = read.lock;
  const alerts: AlertInput[] = [];
  let trust: ReadVerdict['trust'] = 'no_lock';
  let pin = false;
  if (lock) {
    const judged = judgeRead(known.lock, lock, read, alerts, known.trustOnFirstUse);
    trust = judged.trust;
    pin = judged.pinned;
  }
  alerts.push(...manifestAlerts(input, lock));
  if (lock && read.error?.code === 'E_LOCK_HASH') {
    alerts.push({
      kind: 'tamper',
      lockId: lock.lockId,
      subject: `manifest_hash:${hex(lock.manifestSha256)}`,
      detail: `lock ${lock.lockId}: the manifest read does not match the SHA-256 the lock announced, after a full re-read`,
    });
  }
  alerts.push(...protocolAlerts(read));
  const events = { new: 0, seen: 0, conflicts: 0 };
  const freshEvents = lock && trust === 'trusted' ? sortEvents(lock, read.events, known, events, alerts) : [];
  if (lock) alerts.push(...chainAlerts(lock, read));
  if (lock && options.tamper) alerts.push(...tamperAlerts(read, known, input.inspection?.manifestId));
  return { trust, pin, freshEvents, events, alerts };
}

/**
 * PROTOCOL.md §9.2: a read ended by the replay bound (a lock that repeats its answers, or
 * answers requests nobody sent) is a lock alert `lock_protocol`, with the counts the
 * message gives — a misbehaving or hostile device, not bad luck on the link.
 */
function protocolAlerts(read: LockReadRecord): AlertInput[] {
  const code = read.error?.code;
  if (code !== 'E_FRAME_REPLAY' && code !== 'E_FRAME_SEQ') return [];
  const lockId = read.lock?.lockId;
  return [
    {
      kind: 'lock_protocol',
      ...(lockId ? { lockId } : {}),
      subject: `read_ended:${code}:${read.endpoint}`,
      detail: `${lockId ? `lock ${lockId}` : `the device at ${read.endpoint}`} broke the replay bound of PROTOCOL.md §9.2 (${code}): ${read.error!.message}`,
    },
  ];
}

/** A manifest that failed verification, or that names another lock than the one it was read from. */
function manifestAlerts(input: ReadToRecord, lock: LockDescription | undefined): AlertInput[] {
  const { inspection } = input;
  if (!input.read.manifest || !inspection) return [];
  const alerts: AlertInput[] = [];
  const { manifestId } = inspection;
  const verification = inspection.verification.status;
  const lockId = lock?.lockId;
  if (verification !== 'valid') {
    alerts.push({
      kind: verification,
      ...(lockId === undefined ? {} : { lockId }),
      manifestId,
      subject: verification,
      detail: `manifest ${manifestId.slice(0, 16)}… ${verification.replace('_', ' ')}${inspection.verification.detail ? `: ${inspection.verification.detail}` : ''}; kept as evidence`,
    });
  }
  const routing = inspection.routing;
  if (routing && lockId !== undefined && routing.lockId !== lockId) {
    alerts.push({
      kind: 'tamper',
      lockId,
      manifestId,
      subject: `manifest_lock:${routing.lockId}`,
      detail: `manifest ${manifestId.slice(0, 16)}… names lock ${routing.lockId} but was read from lock ${lockId}`,
    });
  }
  return alerts;
}

/**
 * Which events of a trusted read the store does not hold yet; one that differs from the
 * stored event of its counter means the log was rewritten (a tamper alert with the event
 * as evidence). A counter repeated within the read is compared with its first occurrence.
 */
function sortEvents(
  lock: LockDescription,
  events: readonly LockEventRecord[],
  known: KnownLock,
  counts: ReadVerdict['events'],
  alerts: AlertInput[],
): LockEventRecord[] {
  const fresh: LockEventRecord[] = [];
  const inThisRead = new Map<number, { hash: Uint8Array; storedAt: number }>();
  for (const e of events) {
    const stored = inThisRead.get(e.counter) ?? known.storedEvent(e.counter);
    if (!stored) {
      fresh.push(e);
      inThisRead.set(e.counter, { hash: e.hash, storedAt: known.now });
      counts.new++;
      continue;
    }
    if (Buffer.from(stored.hash).equals(e.hash)) {
      counts.seen++;
      continue;
    }
    counts.conflicts++;
    alerts.push({
      kind: 'tamper',
      lockId: lock.lockId,
      subject: `event:${e.counter}:${hex(e.hash)}`,
      detail: `lock ${lock.lockId} event ${e.counter} differs from the one stored on ${new Date(stored.storedAt).toISOString()}: the log was rewritten`,
      evidence: encodeEvents(lock.lockId, lock.identityKey, [e]),
    });
  }
  return fresh;
}

/** The chain verifier's findings (gaps, breaks, bad signatures) as tamper alerts. */
function chainAlerts(lock: LockDescription, read: LockReadRecord): AlertInput[] {
  return read.chainProblems.map((problem) => ({
    kind: 'tamper',
    lockId: lock.lockId,
    subject: `chain:${problem.kind}:${problem.counter}`,
    detail: `lock ${lock.lockId} event log: ${problem.kind} at counter ${problem.counter}: ${problem.detail}`,
  }));
}

/**
 * What the lock's own log and seal state say happened since loading (tamper.ts), as
 * tamper alerts tied to the manifest so the officer sees them beside it. Only for a
 * complete read in which the lock proved its identity key: the log of a lock that could
 * not is evidence of a clone, which the trust verdict reports itself.
 */
function tamperAlerts(read: LockReadRecord, known: KnownLock, manifestId: string | undefined): AlertInput[] {
  const lock = read.lock;
  if (!lock || !read.authenticated || read.outcome !== 'complete') return [];
  const knownKey = known.lock?.identityKey;
  const sameLock = knownKey?.equals(lock.identityKey) === true;
  return assessTamper({
    lockId: lock.lockId,
    sealState: lock.sealState,
    manifestHash: lock.manifestSize > 0 ? lock.manifestSha256 : undefined,
    eventCount: lock.eventCount,
    events: read.events as readonly LockEvent[],
    ...(sameLock && known.lock?.eventCount !== undefined ? { knownEventCount: known.lock.eventCount } : {}),
  }).map((f) => ({
    kind: 'tamper',
    lockId: lock.lockId,
    ...(manifestId ? { manifestId } : {}),
    subject: `lock_log:${f.kind}:${f.counter}`,
    detail: f.detail,
  }));
}
