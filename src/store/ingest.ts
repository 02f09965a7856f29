import type Database from 'better-sqlite3';
import { encodeCanonical } from '../cbor/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Alerts } from './alerts.js';
import type { ReadCheckpoints } from './checkpoints.js';
import { checkIngestInput, routingProblem, sha256Hex } from './ingest-input.js';
import { encodeEvents, type LockEvents } from './lock-events.js';
import { judgeRead } from './lock-trust.js';
import type { Locks } from './locks.js';
import type { Manifests } from './manifests.js';
import type { Outbox, OutboxRouting } from './outbox.js';
import { type Reads, readUid } from './reads.js';
import type { SpaceGuard } from './space.js';
import type {
  AlertInput,
  IngestInput,
  IngestResult,
  LockDescription,
  LockEventRecord,
  ManifestInspection,
  RaisedAlert,
  ReadTrust,
  StoredVerification,
} from './types.js';

export interface IngestParts {
  db: Database.Database;
  locks: Locks;
  manifests: Manifests;
  reads: Reads;
  events: LockEvents;
  alerts: Alerts;
  outbox: Outbox;
  checkpoints: ReadCheckpoints;
  space: SpaceGuard;
  clock: Clock;
  log: Logger;
  /** Pin the key of a lock seen for the first time when it proves possession of it. */
  trustOnFirstUse: boolean;
}

/** Roughly what an ingest writes: the bytes that can be large. */
function ingestBytes(input: IngestInput): number {
  let bytes = input.read.manifest?.byteLength ?? 0;
  for (const e of input.read.events) bytes += e.detail.byteLength + 200;
  for (const a of input.alerts ?? []) bytes += (a.evidence?.byteLength ?? 0) + a.detail.length;
  return bytes;
}

/** Alert details longer than this are cut, not refused: a read is never lost over a message. */
const MAX_DETAIL = 4096;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Short form for messages: enough to tell keys apart on a screen. */
const short = (b: Uint8Array) => hex(b).slice(0, 16);

/**
 * Stores one lock read in one transaction: the lock (pinning its key), the read record,
 * the manifest exactly as received, the lock's new events, the alerts, and the outbox
 * rows that carry them to the exchange. Either all of it is stored or none of it.
 */
export class Ingest {
  readonly #p: IngestParts;
  readonly #tx: (input: IngestInput, now: number) => IngestResult;

  constructor(parts: IngestParts) {
    this.#p = parts;
    // BEGIN IMMEDIATE (here and in every write of the store): the write lock is taken first, so
    // another writer makes us wait out the busy timeout instead of failing a read-to-write upgrade.
    this.#tx = parts.db.transaction((input: IngestInput, now: number) => this.#store(input, now)).immediate;
  }

  ingest(input: IngestInput): IngestResult {
    checkIngestInput(input);
    const { space, log } = this.#p;
    const unusable = routingProblem(input.inspection?.routing);
    if (unusable !== undefined && input.inspection) {
      log.warn(
        { code: 'E_STORE_INPUT', manifestId: input.inspection.manifestId },
        `manifest stored without its routing fields: ${unusable}`,
      );
      const { routing: _dropped, ...rest } = input.inspection;
      input = { ...input, inspection: rest };
    }
    if (input.alerts?.some((a) => a.detail.length > MAX_DETAIL)) {
      input = {
        ...input,
        alerts: input.alerts.map((a) => ({ ...a, detail: a.detail.slice(0, MAX_DETAIL) })),
      };
    }
    space.assertRoomForIngest(ingestBytes(input));
    let result: IngestResult;
    try {
      result = this.#tx(input, this.#p.clock.now());
      // The first ingest after SQLite itself reported the disk full clears the alarm.
      if (space.alarm.state === 'full') space.clear();
    } catch (err) {
      const e = space.fail(err, 'ingest');
      log.error({ ...e.toLog(), lockId: input.read.lock?.lockId }, `lock read not stored: ${e.message}`);
      throw e;
    }
    for (const a of result.alerts.filter((x) => x.new)) {
      log.warn({ alert: a.kind, alertId: a.alertId, lockId: a.lockId, manifestId: a.manifestId }, a.detail);
    }
    log.info(
      {
        readId: result.readId,
        lockId: result.lockId,
        trust: result.trust,
        manifestId: result.manifest?.manifestId,
        newManifest: result.manifest?.new,
        newEvents: result.events.new,
        alerts: result.alerts.length,
        duplicate: result.duplicate,
      },
      'lock read stored',
    );
    return result;
  }

  #store(input: IngestInput, now: number): IngestResult {
    const { read } = input;
    const p = this.#p;
    const uid = readUid(read);
    const earlier = p.reads.byUid(uid);
    if (earlier) {
      const m = earlier.manifestId === undefined ? undefined : p.manifests.get(earlier.manifestId);
      return {
        readId: earlier.readId,
        readUid: uid,
        duplicate: true,
        ...(earlier.lockId === undefined ? {} : { lockId: earlier.lockId }),
        trust: earlier.trust,
        pinned: false,
        ...(m ? { manifest: { manifestId: m.manifestId, new: false, verification: m.verification } } : {}),
        events: { new: 0, seen: earlier.eventsRead, conflicts: 0 },
        alerts: [],
        outboxIds: [],
      };
    }

    const pending: AlertInput[] = [];
    const outboxIds: number[] = [];
    const lock = read.lock;
    let trust: ReadTrust = 'no_lock';
    let pinned = false;
    if (lock) {
      const known = p.locks.ensure(lock.lockId, now);
      ({ trust, pinned } = judgeRead(known, lock, read, pending, this.#p.trustOnFirstUse));
      if (pinned) {
        p.locks.pin(lock.lockId, lock.identityKey, 'tofu', now);
        p.log.info(
          { lockId: lock.lockId, key: short(lock.identityKey) },
          'lock identity key pinned on first use',
        );
      }
    }

    let manifest: IngestResult['manifest'];
    if (read.manifest) {
      manifest = this.#manifest(read.manifest, input.inspection, lock, trust, uid, pending, outboxIds, now);
    }
    if (lock && read.error?.code === 'E_LOCK_HASH') {
      pending.push({
        kind: 'tamper',
        lockId: lock.lockId,
        subject: `manifest_hash:${hex(lock.manifestSha256)}`,
        detail: `lock ${lock.lockId}: the manifest read does not match the SHA-256 the lock announced, after a full re-read`,
      });
    }

    const untrusted = trust !== 'trusted' && lock !== undefined && read.events.length > 0;
    const readId = p.reads.insert({
      read,
      uid,
      trust,
      ...(manifest ? { manifestId: manifest.manifestId } : {}),
      eventsNew: 0,
      ...(untrusted ? { evidence: encodeEvents(lock.lockId, lock.identityKey, read.events) } : {}),
      now,
    });

    const events = { new: 0, seen: 0, conflicts: 0 };
    if (lock && trust === 'trusted') {
      const fresh = this.#events(lock, readId, read.events, events, pending, now);
      if (fresh.length > 0) {
        p.reads.setEventsNew(readId, fresh.length);
        outboxIds.push(
          p.outbox.insertRow(
            'lock_events',
            undefined,
            encodeEvents(lock.lockId, lock.identityKey, fresh),
            {
              lockId: lock.lockId,
              firstCounter: fresh[0]!.counter,
              lastCounter: fresh.at(-1)!.counter,
              count: fresh.length,
              readUid: uid,
            },
            now,
          ),
        );
      }
      p.locks.recordTrustedRead(lock, readId, manifest?.manifestId, now);
    }
    if (lock) {
      for (const problem of read.chainProblems) {
        pending.push({
          kind: 'tamper',
          lockId: lock.lockId,
          subject: `chain:${problem.kind}:${problem.counter}`,
          detail: `lock ${lock.lockId} event log: ${problem.kind} at counter ${problem.counter}: ${problem.detail}`,
        });
      }
    }
    pending.push(...(input.alerts ?? []));

    const alerts: RaisedAlert[] = [];
    for (const a of pending) {
      const raised = p.alerts.raise(a, readId, now);
      alerts.push(raised);
      if (!raised.new) continue;
      outboxIds.push(
        p.outbox.insertRow(
          'alert',
          undefined,
          encodeCanonical({
            alertId: raised.alertId,
            kind: a.kind,
            lockId: a.lockId,
            manifestId: a.manifestId,
            detail: a.detail,
            evidence: a.evidence,
            raisedAt: now,
            gatewayId: read.gatewayId,
            readUid: uid,
          }),
          {
            alertKind: a.kind,
            alertId: raised.alertId,
            lockId: a.lockId ?? null,
            manifestId: a.manifestId ?? null,
            readUid: uid,
          },
          now,
        ),
      );
    }

    if (lock && read.outcome === 'complete') p.checkpoints.clear(lock.lockId);
    return {
      readId,
      readUid: uid,
      duplicate: false,
      ...(lock ? { lockId: lock.lockId } : {}),
      trust,
      pinned,
      ...(manifest ? { manifest } : {}),
      events,
      alerts,
      outboxIds,
    };
  }

  #manifest(
    bytes: Uint8Array,
    inspection: ManifestInspection | undefined,
    lock: LockDescription | undefined,
    trust: ReadTrust,
    uid: string,
    pending: AlertInput[],
    outboxIds: number[],
    now: number,
  ): NonNullable<IngestResult['manifest']> {
    const p = this.#p;
    const manifestId = sha256Hex(bytes);
    const stored = p.manifests.get(manifestId);
    let verification: StoredVerification;
    if (!stored) {
      p.manifests.insert(manifestId, bytes, inspection, lock?.lockId, now);
      verification = inspection?.verification.status ?? 'unverified';
    } else if (inspection) {
      p.manifests.updateVerification(manifestId, inspection, now);
      verification = inspection.verification.status;
    } else {
      verification = stored.verification;
    }
    const lockId = lock?.lockId;
    if (inspection && verification !== 'valid') {
      pending.push({
        kind: verification,
        ...(lockId === undefined ? {} : { lockId }),
        manifestId,
        subject: verification,
        detail: `manifest ${manifestId.slice(0, 16)}… ${verification.replace('_', ' ')}${inspection.verification.detail ? `: ${inspection.verification.detail}` : ''}; kept as evidence`,
      });
    }
    const routing = inspection?.routing;
    if (routing && lockId !== undefined && routing.lockId !== lockId) {
      pending.push({
        kind: 'tamper',
        lockId,
        manifestId,
        subject: `manifest_lock:${routing.lockId}`,
        detail: `manifest ${manifestId.slice(0, 16)}… names lock ${routing.lockId} but was read from lock ${lockId}`,
      });
    }
    if (stored) return { manifestId, new: false, verification };
    const fields: OutboxRouting = {
      manifestId,
      lockId: lockId ?? null,
      lockTrust: trust,
      verification,
      readUid: uid,
    };
    if (routing) {
      Object.assign(fields, {
        routingLockId: routing.lockId,
        container: routing.container,
        wagon: routing.wagon,
        train: routing.train ?? null,
        departure: routing.departure,
        destination: routing.destination,
        departureCountry: routing.departureCountry ?? null,
        destinationCountry: routing.destinationCountry ?? null,
        createdAt: routing.createdAt,
        signerKid: routing.signerKid,
      });
    }
    outboxIds.push(p.outbox.insertRow('manifest', manifestId, bytes, fields, now));
    return { manifestId, new: true, verification };
  }

  #events(
    lock: LockDescription,
    readId: number,
    events: readonly LockEventRecord[],
    counts: IngestResult['events'],
    pending: AlertInput[],
    now: number,
  ): LockEventRecord[] {
    const p = this.#p;
    const fresh: LockEventRecord[] = [];
    for (const e of events) {
      if (p.events.insert(lock.lockId, e, readId, now)) {
        fresh.push(e);
        counts.new++;
        continue;
      }
      const stored = p.events.get(lock.lockId, e.counter)!;
      if (stored.hash.equals(e.hash)) {
        counts.seen++;
        continue;
      }
      counts.conflicts++;
      pending.push({
        kind: 'tamper',
        lockId: lock.lockId,
        subject: `event:${e.counter}:${hex(e.hash)}`,
        detail: `lock ${lock.lockId} event ${e.counter} differs from the one stored on ${new Date(stored.storedAt).toISOString()}: the log was rewritten`,
        evidence: encodeEvents(lock.lockId, lock.identityKey, [e]),
      });
    }
    return fresh;
  }
}
