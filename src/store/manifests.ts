import type Database from 'better-sqlite3';
import type { OutboxState } from './outbox.js';
import type { ManifestInspection, ManifestRouting, StoredVerification } from './types.js';

export interface ManifestRecord {
  /** SHA-256 hex of the bytes. */
  manifestId: string;
  size: number;
  receivedAt: number;
  /** The lock it was first read from. */
  lockId?: string;
  verification: StoredVerification;
  verificationDetail?: string;
  verifiedAt?: number;
  signerKid?: string;
  /** The clear routing fields; absent when the manifest could not be parsed. */
  routing?: Partial<ManifestRouting>;
  /** When the exchange acknowledged it. */
  syncedAt?: number;
  /** When retention removed the bytes (hash, routing fields and receipt stay). */
  payloadPurgedAt?: number;
}

export interface ManifestListEntry extends ManifestRecord {
  /** State of its outbox row. */
  syncState?: OutboxState;
  alerts: number;
}

export interface ManifestQuery {
  container?: string;
  wagon?: string;
  train?: string;
  lockId?: string;
  /** Received at or after, ms. */
  since?: number;
  /** A verification status, or 'flagged' for everything that is not valid. */
  status?: StoredVerification | 'flagged';
  /** Default 100; newest first. */
  limit?: number;
}

interface ManifestRow {
  manifest_id: string;
  size: number;
  received_at: number;
  lock_id: string | null;
  verification: StoredVerification;
  verification_detail: string | null;
  verified_at: number | null;
  signer_kid: string | null;
  routing_lock_id: string | null;
  container: string | null;
  wagon: string | null;
  train: string | null;
  departure: string | null;
  destination: string | null;
  departure_country: string | null;
  destination_country: string | null;
  created_at: number | null;
  synced_at: number | null;
  payload_purged_at: number | null;
}

function fromRow(r: ManifestRow): ManifestRecord {
  const routing: Partial<ManifestRouting> = {};
  if (r.routing_lock_id !== null) routing.lockId = r.routing_lock_id;
  if (r.container !== null) routing.container = r.container;
  if (r.wagon !== null) routing.wagon = r.wagon;
  if (r.train !== null) routing.train = r.train;
  if (r.departure !== null) routing.departure = r.departure;
  if (r.destination !== null) routing.destination = r.destination;
  if (r.departure_country !== null) routing.departureCountry = r.departure_country;
  if (r.destination_country !== null) routing.destinationCountry = r.destination_country;
  if (r.created_at !== null) routing.createdAt = r.created_at;
  if (r.signer_kid !== null) routing.signerKid = r.signer_kid;
  return {
    manifestId: r.manifest_id,
    size: r.size,
    receivedAt: r.received_at,
    lockId: r.lock_id ?? undefined,
    verification: r.verification,
    verificationDetail: r.verification_detail ?? undefined,
    verifiedAt: r.verified_at ?? undefined,
    signerKid: r.signer_kid ?? undefined,
    routing: Object.keys(routing).length > 0 ? routing : undefined,
    syncedAt: r.synced_at ?? undefined,
    payloadPurgedAt: r.payload_purged_at ?? undefined,
  };
}

const LIST_COLUMNS = `m.*, o.state AS sync_state,
  (SELECT count(*) FROM alert a WHERE a.manifest_id = m.manifest_id) AS alerts`;

/**
 * Manifests exactly as read, addressed by the SHA-256 of their bytes, with the clear
 * routing fields indexed for the officer's queries. The bytes live in manifest_payload
 * so that listing never reads them.
 */
export class Manifests {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string], ManifestRow>;
  readonly #bytes: Database.Statement<[string], { bytes: Buffer }>;
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #insertBytes: Database.Statement<[string, Uint8Array]>;
  readonly #verify: Database.Statement<Record<string, unknown>>;
  readonly #synced: Database.Statement<[number, string]>;
  readonly #byPrefix: Database.Statement<[string, string], ManifestRow>;
  readonly #lists = new Map<
    string,
    Database.Statement<unknown[], ManifestRow & { sync_state: OutboxState | null; alerts: number }>
  >();

  constructor(db: Database.Database) {
    this.#db = db;
    this.#get = db.prepare('SELECT * FROM manifest WHERE manifest_id = ?');
    this.#bytes = db.prepare('SELECT bytes FROM manifest_payload WHERE manifest_id = ?');
    this.#insert = db.prepare(`
      INSERT INTO manifest (manifest_id, size, received_at, lock_id, verification, verification_detail, verified_at,
        signer_kid, routing_lock_id, container, wagon, train, departure, destination, departure_country,
        destination_country, created_at)
      VALUES (@manifestId, @size, @receivedAt, @lockId, @verification, @detail, @verifiedAt, @signerKid,
        @routingLockId, @container, @wagon, @train, @departure, @destination, @departureCountry,
        @destinationCountry, @createdAt)`);
    this.#insertBytes = db.prepare('INSERT INTO manifest_payload (manifest_id, bytes) VALUES (?, ?)');
    this.#verify = db.prepare(`
      UPDATE manifest SET verification = @verification, verification_detail = @detail, verified_at = @verifiedAt,
        signer_kid = coalesce(@signerKid, signer_kid), routing_lock_id = coalesce(@routingLockId, routing_lock_id),
        container = coalesce(@container, container), wagon = coalesce(@wagon, wagon), train = coalesce(@train, train),
        departure = coalesce(@departure, departure), destination = coalesce(@destination, destination),
        departure_country = coalesce(@departureCountry, departure_country),
        destination_country = coalesce(@destinationCountry, destination_country),
        created_at = coalesce(@createdAt, created_at)
      WHERE manifest_id = @manifestId`);
    this.#synced = db.prepare(
      'UPDATE manifest SET synced_at = coalesce(synced_at, ?) WHERE manifest_id IN (SELECT value FROM json_each(?))',
    );
    this.#byPrefix = db.prepare(
      'SELECT * FROM manifest WHERE manifest_id >= ? AND manifest_id < ? ORDER BY manifest_id LIMIT 2',
    );
  }

  get(manifestId: string): ManifestRecord | undefined {
    const row = this.#get.get(manifestId);
    return row ? fromRow(row) : undefined;
  }

  /** The bytes exactly as read; undefined when unknown or purged by retention. */
  bytes(manifestId: string): Buffer | undefined {
    return this.#bytes.get(manifestId)?.bytes;
  }

  /** Stores a manifest not stored before. The caller checked `get()` in the same transaction. */
  insert(
    manifestId: string,
    bytes: Uint8Array,
    inspection: ManifestInspection | undefined,
    lockId: string | undefined,
    now: number,
  ): void {
    this.#insert.run({
      manifestId,
      size: bytes.byteLength,
      receivedAt: now,
      lockId: lockId ?? null,
      ...verificationParams(inspection, now),
    });
    this.#insertBytes.run(manifestId, bytes);
  }

  /** Records a newer inspection of a stored manifest (e.g. after a trust store change). */
  updateVerification(manifestId: string, inspection: ManifestInspection, now: number): void {
    this.#verify.run({ manifestId, ...verificationParams(inspection, now) });
  }

  markSynced(manifestIds: readonly string[], at: number): void {
    this.#synced.run(at, JSON.stringify(manifestIds));
  }

  /** Manifests whose id starts with `prefix` (hex): at most two, enough to tell unique from ambiguous. */
  findByPrefix(prefix: string): ManifestRecord[] {
    const low = prefix.toLowerCase();
    return this.#byPrefix.all(low, `${low}g`).map(fromRow);
  }

  list(query: ManifestQuery = {}): ManifestListEntry[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.container !== undefined) {
      where.push('m.container = ?');
      params.push(query.container);
    }
    if (query.wagon !== undefined) {
      where.push('m.wagon = ?');
      params.push(query.wagon);
    }
    if (query.train !== undefined) {
      where.push('m.train = ?');
      params.push(query.train);
    }
    if (query.lockId !== undefined) {
      where.push('m.lock_id = ?');
      params.push(query.lockId);
    }
    if (query.since !== undefined) {
      where.push('m.received_at >= ?');
      params.push(query.since);
    }
    if (query.status === 'flagged') {
      where.push("m.verification <> 'valid'");
    } else if (query.status !== undefined) {
      where.push('m.verification = ?');
      params.push(query.status);
    }
    const sql = `SELECT ${LIST_COLUMNS} FROM manifest m
      LEFT JOIN outbox o ON o.manifest_id = m.manifest_id AND o.kind = 'manifest'
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY m.received_at DESC, m.rowid DESC LIMIT ?`;
    let statement = this.#lists.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#lists.set(sql, statement);
    }
    return statement
      .all(...params, query.limit ?? 100)
      .map((r) => ({ ...fromRow(r), syncState: r.sync_state ?? undefined, alerts: r.alerts }));
  }
}

function verificationParams(
  inspection: ManifestInspection | undefined,
  now: number,
): Record<string, unknown> {
  const r = inspection?.routing;
  return {
    verification: inspection?.verification.status ?? 'unverified',
    detail: inspection?.verification.detail ?? null,
    verifiedAt: inspection ? now : null,
    signerKid: inspection?.verification.signerKid ?? r?.signerKid ?? null,
    routingLockId: r?.lockId ?? null,
    container: r?.container ?? null,
    wagon: r?.wagon ?? null,
    train: r?.train ?? null,
    departure: r?.departure ?? null,
    destination: r?.destination ?? null,
    departureCountry: r?.departureCountry ?? null,
    destinationCountry: r?.destinationCountry ?? null,
    createdAt: r?.createdAt ?? null,
  };
}
