import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { emptyObjectArray } from '../empty-object-array.js';
import { CtopError } from '../errors.js';
import { MESSAGE_KINDS, type MessageKind } from '../exchange-wire/message-kinds.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { StoredReceipts } from './receipts.js';
import type { SpaceGuard } from './space.js';
import type { ManifestRouting } from './types.js';

export type OutboxState = 'queued' | 'in_flight' | 'acknowledged' | 'rejected';
/** One outbox row per message to the exchange: the kinds are the wire format's. */
export type OutboxKind = MessageKind;

export const OUTBOX_STATES: readonly OutboxState[] = ['queued', 'in_flight', 'acknowledged', 'rejected'];
export const OUTBOX_KINDS: readonly OutboxKind[] = MESSAGE_KINDS;

/** Fields the sync needs to address a message without decoding its payload (topic, envelope headers). */
export type OutboxRouting = Record<string, string | number | boolean | null>;

/** The routing fields an outbox row of a manifest carries, from the manifest's clear routing. */
export function manifestRoutingFields(r: ManifestRouting): OutboxRouting {
  return {
    routingLockId: r.lockId,
    container: r.container,
    wagon: r.wagon,
    train: r.train ?? null,
    departure: r.departure,
    destination: r.destination,
    departureCountry: r.departureCountry ?? null,
    destinationCountry: r.destinationCountry ?? null,
    createdAt: r.createdAt,
    signerKid: r.signerKid,
  };
}

/** The exchange's signed processing-result notification for one message. */
export interface OutboxReceipt {
  /** The receipt exactly as received (signed CBOR); kept for the traceability period. */
  bytes: Uint8Array;
  status: 'accepted' | 'rejected';
  /** The exchange's reason code (required for a rejection). */
  reasonCode?: string;
  /** When it arrived, ms. */
  at: number;
}

/** One row a signed receipt answers (see `Outbox.settle`). */
export interface OutboxSettlement {
  id: number;
  status: 'accepted' | 'rejected';
  /** The exchange's reason code (required for a rejection). */
  reasonCode?: string;
}

export interface OutboxEntry {
  id: number;
  kind: OutboxKind;
  state: OutboxState;
  /** Manifest rows: the manifest whose bytes are the payload. */
  manifestId?: string;
  /** The bytes to send. Absent only once retention purged an acknowledged row. */
  payload?: Buffer;
  payloadSha256: Buffer;
  payloadSize: number;
  routing: OutboxRouting;
  /** Recorded by the sync (deterministic from the content); resends reuse it. */
  messageId?: string;
  /** Claims so far, this one included. */
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  createdAt: number;
  claimedAt?: number;
  receipt?: OutboxReceipt;
  /** The envelope signed once when the row was made (the sync's bytes); retention deletes it once acknowledged. */
  envelopeSeal?: Buffer;
}

/** What a sealer sees of a new row: everything its envelope is made of. */
export type UnsealedRow = Pick<OutboxEntry, 'kind' | 'manifestId' | 'payloadSha256' | 'routing'> & {
  payload: Uint8Array;
};

/**
 * Signs a new row's envelope once, in the transaction that creates the row (the sync's):
 * the seal, and the messageId it was made with (recorded with the row unless another row
 * of the same content has it). Undefined, or an error, leaves the row unsealed: the sync
 * signs it at publish, so a seal can save work but never lose or delay a row.
 */
export type OutboxSealer = (row: UnsealedRow) => { seal: Uint8Array; messageId: string } | undefined;

export interface OutboxStatus {
  counts: Record<OutboxState, number>;
  /** Creation time of the oldest queued or in-flight row. */
  oldestUnacknowledgedAt?: number;
  /** now − oldestUnacknowledgedAt. */
  oldestUnacknowledgedAgeMs?: number;
  /** Earliest next attempt among queued rows. */
  nextAttemptAt?: number;
  /** The quarantine, oldest first (at most 100). */
  rejected: { id: number; kind: OutboxKind; manifestId?: string; reasonCode?: string; at?: number }[];
}

interface OutboxRow {
  outbox_id: number;
  kind: OutboxKind;
  state: OutboxState;
  manifest_id: string | null;
  payload: Buffer | null;
  payload_sha256: Buffer;
  payload_size: number;
  routing: string;
  message_id: string | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  claimed_at: number | null;
  receipt: Buffer | null;
  receipt_status: 'accepted' | 'rejected' | null;
  receipt_reason: string | null;
  receipt_at: number | null;
  envelope_seal: Buffer | null;
}

function fromRow(r: OutboxRow): OutboxEntry {
  return {
    id: r.outbox_id,
    kind: r.kind,
    state: r.state,
    manifestId: r.manifest_id ?? undefined,
    payload: r.payload ?? undefined,
    payloadSha256: r.payload_sha256,
    payloadSize: r.payload_size,
    routing: JSON.parse(r.routing) as OutboxRouting,
    messageId: r.message_id ?? undefined,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error ?? undefined,
    createdAt: r.created_at,
    claimedAt: r.claimed_at ?? undefined,
    receipt:
      r.receipt !== null && r.receipt_status !== null && r.receipt_at !== null
        ? {
            bytes: r.receipt,
            status: r.receipt_status,
            ...(r.receipt_reason === null ? {} : { reasonCode: r.receipt_reason }),
            at: r.receipt_at,
          }
        : undefined,
    envelopeSeal: r.envelope_seal ?? undefined,
  };
}

/**
 * An OutboxRow from SELECT_WITH_PAYLOAD's columns read as an array (`.raw()`): a claim reads
 * a few hundred rows at a time, and better-sqlite3 makes a row object by setting each of the
 * 19 column names as a property, per row. The order is SELECT_WITH_PAYLOAD's.
 */
function rowOfColumns(v: unknown[]): OutboxRow {
  return {
    outbox_id: v[0] as number,
    kind: v[1] as OutboxKind,
    state: v[2] as OutboxState,
    manifest_id: v[3] as string | null,
    payload: v[4] as Buffer | null,
    payload_sha256: v[5] as Buffer,
    payload_size: v[6] as number,
    routing: v[7] as string,
    message_id: v[8] as string | null,
    attempts: v[9] as number,
    next_attempt_at: v[10] as number,
    last_error: v[11] as string | null,
    created_at: v[12] as number,
    claimed_at: v[13] as number | null,
    receipt: v[14] as Buffer | null,
    receipt_status: v[15] as OutboxRow['receipt_status'],
    receipt_reason: v[16] as string | null,
    receipt_at: v[17] as number | null,
    envelope_seal: v[18] as Buffer | null,
  };
}

/** Row with the manifest bytes in place of the (NULL) payload of manifest rows (columns in rowOfColumns' order). */
const SELECT_WITH_PAYLOAD = `SELECT o.outbox_id, o.kind, o.state, o.manifest_id, coalesce(o.payload, p.bytes) AS payload,
  o.payload_sha256, o.payload_size, o.routing, o.message_id, o.attempts, o.next_attempt_at, o.last_error, o.created_at,
  o.claimed_at, r.bytes AS receipt, o.receipt_status, o.receipt_reason, o.receipt_at, s.seal AS envelope_seal
  FROM outbox o LEFT JOIN manifest_payload p ON p.manifest_id = o.manifest_id
  LEFT JOIN receipt r ON r.receipt_id = o.receipt_id
  LEFT JOIN outbox_seal s ON s.outbox_id = o.outbox_id`;

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function routingJson(routing: OutboxRouting): string {
  for (const [key, value] of Object.entries(routing)) {
    const t = typeof value;
    if (
      !(value === null || t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(value)))
    ) {
      throw new CtopError(
        'E_STORE_INPUT',
        `outbox routing field "${key}" must be a string, finite number, boolean or null`,
      );
    }
  }
  return JSON.stringify(routing);
}

/**
 * The outbox: everything that must reach the customs exchange, kept until the exchange's
 * signed receipt says it arrived. The sync (src/sync/) is its one consumer.
 *
 * Life of a row:
 *
 *     enqueue ─▶ queued ──claimDue()──▶ in_flight ──acknowledge(receipt)──▶ acknowledged  (final)
 *                  ▲  ▲                    │    └──────reject(receipt)──────▶ rejected    (quarantine)
 *                  │  └──retryLater(err)───┘                                     │
 *                  ├──recoverInFlight() at start-up: a crash left rows in flight │
 *                  └──requeue() by an operator ─────────────────────────────────┘
 *
 * Rules the sync can rely on:
 * - Rows come from ingest (kind manifest, lock_events, alert) or from `enqueue` (outage,
 *   pairing, …). A manifest row's payload is the manifest exactly as read, stored once.
 * - `claimDue(now, limit)` hands out due queued rows oldest-due first, marks them in
 *   flight and counts the attempt, in one transaction: two claimers never get one row.
 * - The messageId is the sync's to derive (deterministic from the content): its sealer gives
 *   it when the row is made, else it is `recordMessageId`ed before the first publish; it
 *   never changes, so a resend is recognisable and `findByMessageId` maps a receipt back to
 *   its row.
 * - `acknowledge` needs an accepted receipt, `reject` a rejected one; both accept a row
 *   that is queued or in flight (a receipt may arrive after a restart re-queued it) and
 *   return false for a duplicate receipt of an already settled row.
 * - Nothing that is not acknowledged is ever deleted or stripped of its payload — by any
 *   code path: triggers in the schema refuse it with E_STORE_PROTECTED.
 * - Every method is synchronous and atomic; failures are CtopErrors (E_STORE_FULL when the
 *   disk is full, E_STORE_OUTBOX_STATE for a transition the row's state does not allow,
 *   E_STORE_NOT_FOUND for an unknown id).
 * - Schedules are wall-clock times, and the wall clock may be stepped: the sync moves them
 *   with a step it sees (`shiftSchedule`), and at start-up `rescheduleStranded` makes due the
 *   rows a backward step left waiting longer than their backoff allows.
 * - The outbox counts nothing: the sync records its figures with `ExchangeStats.record`.
 */
export class Outbox {
  readonly #space: SpaceGuard;
  /** What else acknowledged manifest rows settle (their manifests are marked synced, in the same transaction). */
  readonly #onManifestsAcknowledged: (manifestIds: readonly string[], at: number) => void;
  readonly #pairingBySha: Database.Statement<[Buffer], { outbox_id: number }>;
  readonly #backoff: BackoffOptions;
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #insertSeal: Database.Statement<[number, Uint8Array]>;
  readonly #get: Database.Statement<[number], OutboxRow>;
  readonly #statesOf: Database.Statement<[string], Pick<OutboxRow, 'outbox_id' | 'state' | 'manifest_id'>>;
  readonly #byMessageId: Database.Statement<[string], OutboxRow>;
  readonly #forManifest: Database.Statement<[string], OutboxRow>;
  readonly #due: Database.Statement<[number, number], { outbox_id: number }>;
  readonly #claim: Database.Statement<[number, string]>;
  readonly #getMany: Database.Statement<[string], unknown[]>;
  readonly #setMessageId: Database.Statement<[string, number, string]>;
  readonly #settle: Database.Statement<Record<string, unknown>>;
  readonly #receipts: StoredReceipts;
  readonly #retry: Database.Statement<[number, string, number]>;
  readonly #recover: Database.Statement<[]>;
  readonly #shift: Database.Statement<{ delta: number }>;
  readonly #unstrand: Database.Statement<{ now: number; base: number; max: number }>;
  readonly #requeue: Database.Statement<[number, number]>;
  readonly #counts: Database.Statement<[], { state: OutboxState; n: number }>;
  readonly #oldest: Database.Statement<[], { created: number | null; next: number | null }>;
  readonly #rejected: Database.Statement<
    [],
    Pick<OutboxRow, 'outbox_id' | 'kind' | 'manifest_id' | 'receipt_reason' | 'receipt_at'>
  >;
  readonly #claimDue: (now: number, limit: number) => OutboxEntry[];
  #sealer: OutboxSealer | undefined;
  readonly #settleTx: (
    receipt: Pick<OutboxReceipt, 'bytes' | 'at'>,
    rows: readonly OutboxSettlement[],
  ) => (boolean | CtopError)[];

  constructor(
    db: Database.Database,
    space: SpaceGuard,
    onManifestsAcknowledged: (manifestIds: readonly string[], at: number) => void,
    backoff: BackoffOptions = {},
  ) {
    this.#space = space;
    this.#onManifestsAcknowledged = onManifestsAcknowledged;
    this.#backoff = backoff;
    this.#insert = db.prepare(`
      INSERT INTO outbox (kind, manifest_id, payload, payload_sha256, payload_size, routing, next_attempt_at, created_at, message_id)
      VALUES (@kind, @manifestId, @payload, @sha256, @size, @routing, @now, @now,
        -- a twin (the same content queued before) keeps the id; this row gets it from the sync's claim
        CASE WHEN @messageId IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox WHERE message_id = @messageId)
          THEN @messageId END)`);
    this.#insertSeal = db.prepare('INSERT INTO outbox_seal (outbox_id, seal) VALUES (?, ?)');
    this.#get = db.prepare(`${SELECT_WITH_PAYLOAD} WHERE o.outbox_id = ?`);
    // Settling needs the state, not the (manifest-sized) payload the join would read.
    this.#statesOf = db.prepare(
      'SELECT outbox_id, state, manifest_id FROM outbox WHERE outbox_id IN (SELECT value FROM json_each(?))',
    );
    this.#pairingBySha = db.prepare(
      `SELECT outbox_id FROM outbox WHERE kind = 'pairing' AND payload_sha256 = ?`,
    );
    this.#byMessageId = db.prepare(`${SELECT_WITH_PAYLOAD} WHERE o.message_id = ?`);
    this.#forManifest = db.prepare(`SELECT o.*, r.bytes AS receipt FROM outbox o
      LEFT JOIN receipt r ON r.receipt_id = o.receipt_id WHERE o.manifest_id = ? AND o.kind = 'manifest'`);
    this.#due = db.prepare(`SELECT outbox_id FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?
      ORDER BY next_attempt_at, outbox_id LIMIT ?`);
    // A claim batch is three statements whatever its size: the due ids, one UPDATE and one
    // SELECT over the same ids (a JSON array), instead of two statements per row.
    this.#claim = db.prepare(
      `UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, claimed_at = ?
      WHERE outbox_id IN (SELECT value FROM json_each(?)) AND state = 'queued'`,
    );
    this.#getMany = db
      .prepare<[string], unknown[]>(
        `${SELECT_WITH_PAYLOAD} WHERE o.outbox_id IN (SELECT value FROM json_each(?))`,
      )
      .raw(true);
    this.#setMessageId = db.prepare(
      'UPDATE outbox SET message_id = ? WHERE outbox_id = ? AND (message_id IS NULL OR message_id = ?)',
    );
    this.#receipts = new StoredReceipts(db);
    this.#settle = db.prepare(`
      UPDATE outbox SET state = @to, receipt_id = @receiptId, receipt_status = @status, receipt_reason = @reason, receipt_at = @at
      WHERE outbox_id IN (SELECT value FROM json_each(@ids))`);
    this.#retry = db.prepare(
      `UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = ? WHERE outbox_id = ? AND state = 'in_flight'`,
    );
    this.#recover = db.prepare(`UPDATE outbox SET state = 'queued' WHERE state = 'in_flight'`);
    this.#shift = db.prepare(
      `UPDATE outbox SET next_attempt_at = next_attempt_at + @delta WHERE state = 'queued'`,
    );
    // A row is due at most its backoff's ceiling after it was scheduled (none for a row never
    // tried: due when created), so one due later than that from now was scheduled before the
    // wall clock stepped back.
    this.#unstrand = db.prepare(`UPDATE outbox SET next_attempt_at = @now
      WHERE state = 'queued' AND next_attempt_at > @now
        AND next_attempt_at > @now + CASE WHEN attempts = 0 THEN 0
          ELSE min(@max, @base * (1 << min(attempts - 1, 40))) END`);
    this.#requeue = db.prepare(`
      UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = 'requeued after rejection: ' || coalesce(receipt_reason, '?'),
        receipt_id = NULL, receipt_status = NULL, receipt_reason = NULL, receipt_at = NULL
      WHERE outbox_id = ? AND state = 'rejected'`);
    this.#counts = db.prepare('SELECT state, count(*) AS n FROM outbox GROUP BY state');
    this.#oldest = db.prepare(`SELECT
      (SELECT min(created_at) FROM outbox WHERE state IN ('queued', 'in_flight')) AS created,
      (SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued') AS next`);
    this.#rejected = db.prepare(`SELECT outbox_id, kind, manifest_id, receipt_reason, receipt_at FROM outbox
      WHERE state = 'rejected' ORDER BY receipt_at, outbox_id LIMIT 100`);

    const claimDue = (now: number, limit: number): OutboxEntry[] => {
      const ids = this.#due.all(now, limit).map((r) => r.outbox_id);
      // Empty or not, the array the claim loop iterates has one map (see emptyObjectArray).
      const claimed = emptyObjectArray<OutboxEntry>();
      if (ids.length === 0) return claimed;
      const list = JSON.stringify(ids);
      this.#claim.run(now, list);
      const byId = new Map<number, unknown[]>();
      for (const values of this.#getMany.all(list)) byId.set(values[0] as number, values);
      for (const id of ids) claimed.push(fromRow(rowOfColumns(byId.get(id)!)));
      return claimed;
    };
    // One receipt answers many rows: their states read, the receipt stored and the rows
    // updated with a statement each per receipt, not per row (a drain settles thousands).
    const settle = (
      receipt: Pick<OutboxReceipt, 'bytes' | 'at'>,
      rows: readonly OutboxSettlement[],
    ): (boolean | CtopError)[] => {
      const states = new Map(
        this.#statesOf.all(JSON.stringify(rows.map((r) => r.id))).map((r) => [r.outbox_id, r]),
      );
      const groups = new Map<
        string,
        { to: OutboxState; status: string; reason: string | null; ids: number[] }
      >();
      const manifests: string[] = [];
      const outcomes = rows.map(({ id, status, reasonCode }): boolean | CtopError => {
        const row = states.get(id);
        if (!row) throw new CtopError('E_STORE_NOT_FOUND', `no outbox row ${id}`);
        const to = status === 'accepted' ? 'acknowledged' : 'rejected';
        if (row.state === to) return false;
        if (row.state === 'acknowledged' || row.state === 'rejected') {
          return new CtopError(
            'E_STORE_OUTBOX_STATE',
            `outbox row ${id} is ${row.state}; a ${status} receipt cannot settle it`,
            { details: { id, state: row.state } },
          );
        }
        // A second answer for the row within this receipt finds it settled, as it would in the table.
        row.state = to;
        const reason = reasonCode ?? null;
        const key = `${to} ${reason ?? ''}`;
        const group = groups.get(key);
        if (group) group.ids.push(id);
        else groups.set(key, { to, status, reason, ids: [id] });
        if (to === 'acknowledged' && row.manifest_id !== null) manifests.push(row.manifest_id);
        return true;
      });
      if (groups.size === 0) return outcomes;
      const receiptId = this.#receipts.idOf(receipt.bytes);
      for (const g of groups.values()) {
        this.#settle.run({
          ids: JSON.stringify(g.ids),
          to: g.to,
          receiptId,
          status: g.status,
          reason: g.reason,
          at: receipt.at,
        });
      }
      if (manifests.length > 0) this.#onManifestsAcknowledged(manifests, receipt.at);
      return outcomes;
    };
    // Inside a caller's transaction (the sync settles a batch of receipts in one) the
    // caller's transaction is the unit: a savepoint per row would cost a statement pair per
    // message for nothing (a refusal throws before any write; any other error rolls back
    // the caller's whole transaction).
    const claimTx = db.transaction(claimDue).immediate;
    const settleTx = db.transaction(settle).immediate;
    this.#claimDue = (now, limit) => (db.inTransaction ? claimDue(now, limit) : claimTx(now, limit));
    this.#settleTx = (receipt, rows) => (db.inTransaction ? settle(receipt, rows) : settleTx(receipt, rows));
  }

  /**
   * Adds a row other modules produce (outage reports, pairing records). Manifest, event
   * and alert rows are created by ingest in the same transaction as what they carry.
   */
  enqueue(
    kind: Exclude<OutboxKind, 'manifest'>,
    payload: Uint8Array,
    routing: OutboxRouting,
    now: number,
  ): number {
    if ((kind as OutboxKind) === 'manifest' || !OUTBOX_KINDS.includes(kind)) {
      throw new CtopError('E_STORE_INPUT', `outbox kind "${kind}" cannot be enqueued directly`);
    }
    return this.#space.run('outbox enqueue', () => this.insertRow(kind, undefined, payload, routing, now));
  }

  /**
   * The pairing row whose payload has this SHA-256, purged or not (the outbox keeps every
   * row's content hash): a pairing resumed after a crash is queued once.
   */
  findPairing(payloadSha256: Buffer): number | undefined {
    return this.#space.run('outbox find pairing', () => this.#pairingBySha.get(payloadSha256)?.outbox_id);
  }

  /** Seals every row made from now on (a `SyncEngine` sets its own); undefined stops it. */
  useSealer(sealer: OutboxSealer | undefined): void {
    this.#sealer = sealer;
  }

  /** @internal ingest and import: one row, inside their transaction. */
  insertRow(
    kind: OutboxKind,
    manifestId: string | undefined,
    payload: Uint8Array,
    routing: OutboxRouting,
    now: number,
  ): number {
    const payloadSha256 = sha256(payload);
    const json = routingJson(routing);
    const sealed = this.#seal({ kind, manifestId, payload, payloadSha256, routing });
    const info = this.#insert.run({
      kind,
      manifestId: manifestId ?? null,
      payload: manifestId === undefined ? payload : null,
      sha256: payloadSha256,
      size: payload.byteLength,
      routing: json,
      now,
      messageId: sealed?.messageId ?? null,
    });
    const id = Number(info.lastInsertRowid);
    if (sealed) this.#insertSeal.run(id, sealed.seal);
    return id;
  }

  #seal(row: UnsealedRow): ReturnType<OutboxSealer> {
    if (!this.#sealer) return undefined;
    try {
      return this.#sealer(row);
    } catch {
      // The sync's sealer logs its own failures; whatever fails, the row is made unsealed.
      return undefined;
    }
  }

  /** Due queued rows, oldest due first, now in flight with their attempt counted; with payloads. */
  claimDue(now: number, limit: number): OutboxEntry[] {
    if (!Number.isInteger(limit) || limit < 1)
      throw new CtopError('E_STORE_INPUT', `claim limit ${limit} must be a positive integer`);
    return this.#space.run('outbox claim', () => this.#claimDue(now, limit));
  }

  /** Records the messageId the sync derived; the same id again is a no-op, another one an error. */
  recordMessageId(id: number, messageId: string): void {
    this.#space.run('outbox message id', () => {
      let changes: number;
      try {
        changes = this.#setMessageId.run(messageId, id, messageId).changes;
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          const other = this.#byMessageId.get(messageId);
          throw new CtopError(
            'E_STORE_OUTBOX_STATE',
            `messageId ${messageId} is already row ${other?.outbox_id}'s`,
            {
              cause: err,
            },
          );
        }
        throw err;
      }
      if (changes === 1) return;
      const row = this.#get.get(id);
      if (!row) throw new CtopError('E_STORE_NOT_FOUND', `no outbox row ${id}`);
      throw new CtopError('E_STORE_OUTBOX_STATE', `outbox row ${id} already has messageId ${row.message_id}`);
    });
  }

  findByMessageId(messageId: string): OutboxEntry | undefined {
    const row = this.#space.run('outbox find', () => this.#byMessageId.get(messageId));
    return row ? fromRow(row) : undefined;
  }

  /** The row that carries a manifest to the exchange (without its payload). */
  forManifest(manifestId: string): OutboxEntry | undefined {
    const row = this.#space.run('outbox find', () => this.#forManifest.get(manifestId));
    return row ? { ...fromRow(row), payload: undefined } : undefined;
  }

  get(id: number): OutboxEntry | undefined {
    const row = this.#space.run('outbox get', () => this.#get.get(id));
    return row ? fromRow(row) : undefined;
  }

  /** Settles a row with an accepted receipt; false when it was already acknowledged (duplicate receipt). */
  acknowledge(id: number, receipt: OutboxReceipt): boolean {
    if (receipt.status !== 'accepted')
      throw new CtopError('E_STORE_INPUT', 'acknowledge needs an accepted receipt');
    return this.#settleOne(id, receipt);
  }

  /** Quarantines a row the exchange refused; false when it was already rejected. */
  reject(id: number, receipt: OutboxReceipt): boolean {
    if (receipt.status !== 'rejected')
      throw new CtopError('E_STORE_INPUT', 'reject needs a rejected receipt');
    return this.#settleOne(id, receipt);
  }

  /**
   * Settles the rows one signed receipt answers, atomically: an accepted row is acknowledged,
   * a rejected one quarantined. Per row, true when settled now, false when it already was
   * (a duplicate receipt), or the E_STORE_OUTBOX_STATE error (not thrown) when it is settled
   * the other way — the other rows settle all the same. An unknown id throws E_STORE_NOT_FOUND
   * and settles nothing.
   */
  settle(
    receipt: Pick<OutboxReceipt, 'bytes' | 'at'>,
    rows: readonly OutboxSettlement[],
  ): (boolean | CtopError)[] {
    return this.#space.run('outbox settle', () => this.#settleTx(receipt, rows));
  }

  #settleOne(id: number, receipt: OutboxReceipt): boolean {
    const [outcome] = this.#space.run('outbox settle', () =>
      this.#settleTx(receipt, [
        {
          id,
          status: receipt.status,
          ...(receipt.reasonCode === undefined ? {} : { reasonCode: receipt.reasonCode }),
        },
      ]),
    );
    if (outcome instanceof CtopError) throw outcome;
    return outcome!;
  }

  /** Puts an in-flight row back in the queue after a failed attempt; returns when it is due again. */
  retryLater(id: number, now: number, error: string): number {
    return this.#space.run('outbox retry', () => {
      const row = this.#get.get(id);
      if (!row) throw new CtopError('E_STORE_NOT_FOUND', `no outbox row ${id}`);
      const next = now + backoffDelay(row.attempts, this.#backoff);
      if (this.#retry.run(next, error.slice(0, 1000), id).changes !== 1) {
        throw new CtopError('E_STORE_OUTBOX_STATE', `outbox row ${id} is ${row.state}, not in flight`, {
          details: { id, state: row.state },
        });
      }
      return next;
    });
  }

  /** Start-up: rows a crash left in flight go back to the queue, due as they were. Returns how many. */
  recoverInFlight(): number {
    return this.#space.run('outbox recover', () => this.#recover.run().changes);
  }

  /**
   * The wall clock stepped by `deltaMs` (NTP, GPS; negative: back) while the sync ran: every
   * queued row moves with it, so each keeps the wait it had left (a due row stays due) instead
   * of waiting the step out too. Returns how many moved.
   */
  shiftSchedule(deltaMs: number): number {
    if (!Number.isFinite(deltaMs) || Math.round(deltaMs) === 0) return 0;
    return this.#space.run(
      'outbox reschedule',
      () => this.#shift.run({ delta: Math.round(deltaMs) }).changes,
    );
  }

  /**
   * Start-up: rows scheduled further ahead than their backoff allows were scheduled before a
   * backward step of the wall clock while the daemon was down; they are due now. Returns how many.
   */
  rescheduleStranded(now: number): number {
    const base = this.#backoff.baseMs ?? DEFAULT_BACKOFF.baseMs;
    const max = this.#backoff.maxMs ?? DEFAULT_BACKOFF.maxMs;
    return this.#space.run('outbox reschedule', () => this.#unstrand.run({ now, base, max }).changes);
  }

  /** An operator sends a rejected row again (after the cause was fixed on the exchange side). */
  requeue(id: number, now: number): void {
    this.#space.run('outbox requeue', () => {
      if (this.#requeue.run(now, id).changes === 1) return;
      const row = this.#get.get(id);
      if (!row) throw new CtopError('E_STORE_NOT_FOUND', `no outbox row ${id}`);
      throw new CtopError('E_STORE_OUTBOX_STATE', `outbox row ${id} is ${row.state}, not rejected`);
    });
  }

  status(now: number): OutboxStatus {
    return this.#space.run('outbox status', () => {
      const counts: Record<OutboxState, number> = { queued: 0, in_flight: 0, acknowledged: 0, rejected: 0 };
      for (const { state, n } of this.#counts.all()) counts[state] = n;
      const { created, next } = this.#oldest.get()!;
      return {
        counts,
        ...(created === null
          ? {}
          : { oldestUnacknowledgedAt: created, oldestUnacknowledgedAgeMs: now - created }),
        ...(next === null ? {} : { nextAttemptAt: next }),
        rejected: this.#rejected.all().map((r) => ({
          id: r.outbox_id,
          kind: r.kind,
          ...(r.manifest_id === null ? {} : { manifestId: r.manifest_id }),
          ...(r.receipt_reason === null ? {} : { reasonCode: r.receipt_reason }),
          ...(r.receipt_at === null ? {} : { at: r.receipt_at }),
        })),
      };
    });
  }
}
