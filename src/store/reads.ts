import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { encodeCanonical } from '../cbor/index.js';
import type { LockReadRecord, ReadTrust } from './types.js';

export interface ReadRecord {
  readId: number;
  readUid: string;
  gatewayId: string;
  transport: LockReadRecord['transport'];
  endpoint: string;
  startedAt: number;
  finishedAt: number;
  outcome: LockReadRecord['outcome'];
  errorCode?: string;
  errorMessage?: string;
  lockId?: string;
  presentedKey?: Buffer;
  authenticated: boolean;
  trust: ReadTrust;
  firmware?: string;
  battery?: number;
  sealState?: number;
  manifestSize?: number;
  manifestSha256?: Buffer;
  eventCount?: number;
  eventHead?: Buffer;
  manifestId?: string;
  eventsRead: number;
  eventsNew: number;
  evidence?: Buffer;
  stats: LockReadRecord['stats'];
  ingestedAt: number;
  importId?: number;
}

interface ReadRow {
  read_id: number;
  read_uid: string;
  gateway_id: string;
  transport: LockReadRecord['transport'];
  endpoint: string;
  started_at: number;
  finished_at: number;
  outcome: LockReadRecord['outcome'];
  error_code: string | null;
  error_message: string | null;
  lock_id: string | null;
  presented_key: Buffer | null;
  authenticated: number;
  trust: ReadTrust;
  firmware: string | null;
  battery: number | null;
  seal_state: number | null;
  manifest_size: number | null;
  manifest_sha256: Buffer | null;
  event_count: number | null;
  event_head: Buffer | null;
  manifest_id: string | null;
  events_read: number;
  events_new: number;
  evidence: Buffer | null;
  stats: string;
  ingested_at: number;
  import_id: number | null;
}

function fromRow(r: ReadRow): ReadRecord {
  return {
    readId: r.read_id,
    readUid: r.read_uid,
    gatewayId: r.gateway_id,
    transport: r.transport,
    endpoint: r.endpoint,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    errorCode: r.error_code ?? undefined,
    errorMessage: r.error_message ?? undefined,
    lockId: r.lock_id ?? undefined,
    presentedKey: r.presented_key ?? undefined,
    authenticated: r.authenticated === 1,
    trust: r.trust,
    firmware: r.firmware ?? undefined,
    battery: r.battery ?? undefined,
    sealState: r.seal_state ?? undefined,
    manifestSize: r.manifest_size ?? undefined,
    manifestSha256: r.manifest_sha256 ?? undefined,
    eventCount: r.event_count ?? undefined,
    eventHead: r.event_head ?? undefined,
    manifestId: r.manifest_id ?? undefined,
    eventsRead: r.events_read,
    eventsNew: r.events_new,
    evidence: r.evidence ?? undefined,
    stats: JSON.parse(r.stats) as LockReadRecord['stats'],
    ingestedAt: r.ingested_at,
    importId: r.import_id ?? undefined,
  };
}

/**
 * The identity of a read: who read which lock where and when, which key it presented and
 * what it got. The same read handed over twice (a retry after a crash, an imported bundle)
 * has the same uid; a clone answering at the same instant does not.
 */
export function readUid(read: LockReadRecord): string {
  return createHash('sha256')
    .update(
      encodeCanonical([
        read.gatewayId,
        read.transport,
        read.endpoint,
        read.startedAt,
        read.finishedAt,
        read.lock?.lockId ?? null,
        read.lock?.identityKey ?? null,
        read.authenticated,
        read.outcome,
        read.error?.code ?? null,
        read.manifest ? createHash('sha256').update(read.manifest).digest() : null,
        read.events.length,
        read.events.at(-1)?.hash ?? null,
      ]),
    )
    .digest('hex');
}

export interface NewRead {
  read: LockReadRecord;
  uid: string;
  trust: ReadTrust;
  manifestId?: string;
  /** Default: the number of events in `read` (an imported read carries only the count). */
  eventsRead?: number;
  eventsNew: number;
  evidence?: Uint8Array;
  now: number;
  importId?: number;
}

/** Every read attempt, complete or failed, trusted or kept as evidence. */
export class Reads {
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #byUid: Database.Statement<[string], ReadRow>;
  readonly #byId: Database.Statement<[number], ReadRow>;
  readonly #setEventsNew: Database.Statement<[number, number]>;
  readonly #forManifest: Database.Statement<[string], ReadRow>;
  readonly #forLock: Database.Statement<[string, number], ReadRow>;
  readonly #since: Database.Statement<[number], ReadRow>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(`
      INSERT INTO lock_read (read_uid, gateway_id, transport, endpoint, started_at, finished_at, outcome, error_code,
        error_message, lock_id, presented_key, authenticated, trust, firmware, battery, seal_state, manifest_size,
        manifest_sha256, event_count, event_head, manifest_id, events_read, events_new, evidence, stats, ingested_at,
        import_id)
      VALUES (@uid, @gatewayId, @transport, @endpoint, @startedAt, @finishedAt, @outcome, @errorCode, @errorMessage,
        @lockId, @presentedKey, @authenticated, @trust, @firmware, @battery, @sealState, @manifestSize,
        @manifestSha256, @eventCount, @eventHead, @manifestId, @eventsRead, @eventsNew, @evidence, @stats, @now,
        @importId)`);
    this.#byUid = db.prepare('SELECT * FROM lock_read WHERE read_uid = ?');
    this.#byId = db.prepare('SELECT * FROM lock_read WHERE read_id = ?');
    this.#setEventsNew = db.prepare('UPDATE lock_read SET events_new = ? WHERE read_id = ?');
    this.#forManifest = db.prepare(
      'SELECT * FROM lock_read WHERE manifest_id = ? ORDER BY started_at, read_id',
    );
    this.#forLock = db.prepare('SELECT * FROM lock_read WHERE lock_id = ? ORDER BY started_at DESC LIMIT ?');
    this.#since = db.prepare('SELECT * FROM lock_read WHERE ingested_at >= ? ORDER BY read_id');
  }

  insert(r: NewRead): number {
    const { read } = r;
    const lock = read.lock;
    const info = this.#insert.run({
      uid: r.uid,
      gatewayId: read.gatewayId,
      transport: read.transport,
      endpoint: read.endpoint,
      startedAt: read.startedAt,
      finishedAt: read.finishedAt,
      outcome: read.outcome,
      errorCode: read.error?.code ?? null,
      errorMessage: read.error?.message ?? null,
      lockId: lock?.lockId ?? null,
      presentedKey: lock?.identityKey ?? null,
      authenticated: read.authenticated ? 1 : 0,
      trust: r.trust,
      firmware: lock?.firmware ?? null,
      battery: lock?.battery ?? null,
      sealState: lock?.sealState ?? null,
      manifestSize: lock?.manifestSize ?? null,
      manifestSha256: lock?.manifestSha256 ?? null,
      eventCount: lock?.eventCount ?? null,
      eventHead: lock?.eventHead ?? null,
      manifestId: r.manifestId ?? null,
      eventsRead: r.eventsRead ?? read.events.length,
      eventsNew: r.eventsNew,
      evidence: r.evidence ?? null,
      stats: JSON.stringify(read.stats),
      now: r.now,
      importId: r.importId ?? null,
    });
    return Number(info.lastInsertRowid);
  }

  setEventsNew(readId: number, count: number): void {
    this.#setEventsNew.run(count, readId);
  }

  byUid(uid: string): ReadRecord | undefined {
    const row = this.#byUid.get(uid);
    return row ? fromRow(row) : undefined;
  }

  get(readId: number): ReadRecord | undefined {
    const row = this.#byId.get(readId);
    return row ? fromRow(row) : undefined;
  }

  forManifest(manifestId: string): ReadRecord[] {
    return this.#forManifest.all(manifestId).map(fromRow);
  }

  /** The newest reads of a lock first. */
  forLock(lockId: string, limit = 20): ReadRecord[] {
    return this.#forLock.all(lockId, limit).map(fromRow);
  }

  ingestedSince(since: number): ReadRecord[] {
    return this.#since.all(since).map(fromRow);
  }
}
