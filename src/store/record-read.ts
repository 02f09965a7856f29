import type Database from 'better-sqlite3';
import { encodeCanonical } from '../cbor/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Alerts } from './alerts.js';
import type { ReadCheckpoints } from './checkpoints.js';
import { encodeEvents, type LockEvents } from './lock-events.js';
import type { Locks } from './locks.js';
import type { Manifests } from './manifests.js';
import { manifestRoutingFields, type Outbox, type OutboxRouting } from './outbox.js';
import { checkReadInput, routingProblem, sha256Hex } from './read-input.js';
import { type ReadRecord, type Reads, readUid } from './reads.js';
import type { SpaceGuard } from './space.js';
import type {
  AlertInput,
  DecideVerdict,
  LockDescription,
  LockEventRecord,
  ManifestInspection,
  RaisedAlert,
  ReadToRecord,
  ReadTrust,
  RecordedRead,
  StoredVerification,
} from './types.js';

export interface ReadRecorderParts {
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

/** Roughly what recording a read writes: the bytes that can be large. */
function readBytes(input: ReadToRecord): number {
  let bytes = input.read.manifest?.byteLength ?? 0;
  for (const e of input.read.events) bytes += e.detail.byteLength + 200;
  for (const a of input.alerts ?? []) bytes += (a.evidence?.byteLength ?? 0) + a.detail.length;
  return bytes;
}

/** Alert details longer than this are cut, not refused: a read is never lost over a message. */
const MAX_DETAIL = 4096;

/** Short form for messages: enough to tell keys apart on a screen. */
const short = (b: Uint8Array) => Buffer.from(b).toString('hex').slice(0, 16);

const truncated = (alerts: AlertInput[]): AlertInput[] =>
  alerts.some((a) => a.detail.length > MAX_DETAIL)
    ? alerts.map((a) => ({ ...a, detail: a.detail.slice(0, MAX_DETAIL) }))
    : alerts;

/**
 * Writes one lock read, with the verdict src/ingest decided on it, in one transaction: the
 * lock (pinning its key), the read record, the manifest exactly as received, the lock's new
 * events, the alerts, the outbox rows that carry them to the exchange, and the read's
 * checkpoint. Either all of it is stored or none of it. The store decides nothing about
 * the read: it asks `decide` inside the transaction, with what it knows of the lock.
 */
export class ReadRecorder {
  readonly #p: ReadRecorderParts;
  readonly #tx: (input: ReadToRecord, decide: DecideVerdict, now: number) => RecordedRead;

  constructor(parts: ReadRecorderParts) {
    this.#p = parts;
    // BEGIN IMMEDIATE (here and in every write of the store): the write lock is taken first, so
    // another writer makes us wait out the busy timeout instead of failing a read-to-write upgrade.
    this.#tx = parts.db.transaction((input: ReadToRecord, decide: DecideVerdict, now: number) =>
      this.#write(input, decide, now),
    ).immediate;
  }

  record(input: ReadToRecord, decide: DecideVerdict): RecordedRead {
    checkReadInput(input);
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
    if (input.alerts) input = { ...input, alerts: truncated(input.alerts) };
    space.assertRoomForIngest(readBytes(input));
    let result: RecordedRead;
    try {
      result = this.#tx(input, decide, this.#p.clock.now());
      // The first read stored after SQLite itself reported the disk full clears the alarm.
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

  #write(input: ReadToRecord, decide: DecideVerdict, now: number): RecordedRead {
    const { read } = input;
    const p = this.#p;
    if (input.checkpoint) p.checkpoints.save(input.checkpoint, now);
    const uid = readUid(read);
    const earlier = p.reads.byUid(uid);
    if (earlier) return this.#duplicate(earlier, uid);

    const lock = read.lock;
    const known = lock ? p.locks.ensure(lock.lockId, now) : undefined;
    const verdict = decide(input, {
      lock: known,
      storedEvent: (counter) => (lock ? p.events.get(lock.lockId, counter) : undefined),
      trustOnFirstUse: p.trustOnFirstUse,
      now,
    });
    const { trust } = verdict;
    if (lock && verdict.pin) {
      p.locks.pin(lock.lockId, lock.identityKey, 'tofu', now);
      p.log.info(
        { lockId: lock.lockId, key: short(lock.identityKey) },
        'lock identity key pinned on first use',
      );
    }

    const outboxIds: number[] = [];
    const manifest = read.manifest
      ? this.#manifest(read.manifest, input.inspection, lock, trust, uid, outboxIds, now)
      : undefined;

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

    if (lock && trust === 'trusted') {
      const fresh = verdict.freshEvents;
      for (const e of fresh) p.events.insert(lock.lockId, e, readId, now);
      if (fresh.length > 0) {
        p.reads.setEventsNew(readId, fresh.length);
        outboxIds.push(this.#eventsRow(lock, fresh, uid, now));
      }
      p.locks.recordTrustedRead(lock, readId, manifest?.manifestId, now);
    }

    const alerts = this.#raise(
      [...truncated(verdict.alerts), ...(input.alerts ?? [])],
      readId,
      read.gatewayId,
      uid,
      outboxIds,
      now,
    );
    if (lock && read.outcome === 'complete') p.checkpoints.clear(lock.lockId);
    return {
      readId,
      readUid: uid,
      duplicate: false,
      ...(lock ? { lockId: lock.lockId } : {}),
      trust,
      pinned: verdict.pin,
      ...(manifest ? { manifest } : {}),
      events: verdict.events,
      alerts,
      outboxIds,
    };
  }

  /** The very same read was recorded before: what it was recorded as, nothing added. */
  #duplicate(earlier: ReadRecord, uid: string): RecordedRead {
    const m = earlier.manifestId === undefined ? undefined : this.#p.manifests.get(earlier.manifestId);
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

  #eventsRow(lock: LockDescription, fresh: LockEventRecord[], uid: string, now: number): number {
    return this.#p.outbox.insertRow(
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
    );
  }

  /** Raises each alert once (repeats of one subject are one alert); a new one is queued for the exchange. */
  #raise(
    pending: AlertInput[],
    readId: number,
    gatewayId: string,
    uid: string,
    outboxIds: number[],
    now: number,
  ): RaisedAlert[] {
    const alerts: RaisedAlert[] = [];
    for (const a of pending) {
      const raised = this.#p.alerts.raise(a, readId, now);
      alerts.push(raised);
      if (!raised.new) continue;
      outboxIds.push(
        this.#p.outbox.insertRow(
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
            gatewayId,
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
    return alerts;
  }

  /** The manifest exactly as read, stored once; its outbox row when it is new. */
  #manifest(
    bytes: Uint8Array,
    inspection: ManifestInspection | undefined,
    lock: LockDescription | undefined,
    trust: ReadTrust,
    uid: string,
    outboxIds: number[],
    now: number,
  ): NonNullable<RecordedRead['manifest']> {
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
    if (stored) return { manifestId, new: false, verification };
    const lockId = lock?.lockId;
    const routing = inspection?.routing;
    const fields: OutboxRouting = {
      manifestId,
      lockId: lockId ?? null,
      lockTrust: trust,
      verification,
      readUid: uid,
    };
    if (routing) Object.assign(fields, manifestRoutingFields(routing));
    outboxIds.push(p.outbox.insertRow('manifest', manifestId, bytes, fields, now));
    return { manifestId, new: true, verification };
  }
}
