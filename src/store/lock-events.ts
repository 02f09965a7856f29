import type Database from 'better-sqlite3';
import { encodeCanonical } from '../cbor/index.js';
import type { LockEventRecord } from './types.js';

export interface StoredLockEvent extends LockEventRecord {
  hash: Buffer;
  lockId: string;
  readId?: number;
  storedAt: number;
}

interface EventRow {
  lock_id: string;
  counter: number;
  time: number;
  kind: number;
  detail: Buffer;
  prev: Buffer;
  sig: Buffer;
  hash: Buffer;
  read_id: number | null;
  stored_at: number;
}

function fromRow(r: EventRow): StoredLockEvent {
  return {
    lockId: r.lock_id,
    counter: r.counter,
    time: r.time,
    kind: r.kind,
    detail: r.detail,
    prev: r.prev,
    sig: r.sig,
    hash: r.hash,
    readId: r.read_id ?? undefined,
    storedAt: r.stored_at,
  };
}

/** The wire order of an event (PROTOCOL.md §7): counter, time, kind, detail, prev, sig. */
export function eventToTuple(
  e: LockEventRecord,
): [number, number, number, Uint8Array, Uint8Array, Uint8Array] {
  return [e.counter, e.time, e.kind, e.detail, e.prev, e.sig];
}

/** Deterministic CBOR of events: the evidence column of untrusted reads and the outbox payload. */
export function encodeEvents(
  lockId: string,
  identityKey: Uint8Array | undefined,
  events: readonly LockEventRecord[],
): Buffer {
  return encodeCanonical({ lockId, identityKey, events: events.map(eventToTuple) });
}

/**
 * The event logs of genuine locks, one row per lock and counter. Only trusted reads write
 * here, so a clone cannot plant counters that would make the real lock look tampered.
 */
export class LockEvents {
  readonly #get: Database.Statement<[string, number], EventRow>;
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #list: Database.Statement<[string], EventRow>;
  readonly #since: Database.Statement<[number], EventRow>;

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT * FROM lock_event WHERE lock_id = ? AND counter = ?');
    this.#insert = db.prepare(`
      INSERT INTO lock_event (lock_id, counter, time, kind, detail, prev, sig, hash, read_id, stored_at)
      VALUES (@lockId, @counter, @time, @kind, @detail, @prev, @sig, @hash, @readId, @storedAt)
      ON CONFLICT (lock_id, counter) DO NOTHING`);
    this.#list = db.prepare('SELECT * FROM lock_event WHERE lock_id = ? ORDER BY counter');
    this.#since = db.prepare('SELECT * FROM lock_event WHERE stored_at >= ? ORDER BY lock_id, counter');
  }

  get(lockId: string, counter: number): StoredLockEvent | undefined {
    const row = this.#get.get(lockId, counter);
    return row ? fromRow(row) : undefined;
  }

  /** Inserts an event whose counter is new for the lock; false when the counter exists. */
  insert(lockId: string, e: LockEventRecord, readId: number | undefined, now: number): boolean {
    return (
      this.#insert.run({
        lockId,
        counter: e.counter,
        time: e.time,
        kind: e.kind,
        detail: e.detail,
        prev: e.prev,
        sig: e.sig,
        hash: e.hash,
        readId: readId ?? null,
        storedAt: now,
      }).changes === 1
    );
  }

  list(lockId: string): StoredLockEvent[] {
    return this.#list.all(lockId).map(fromRow);
  }

  storedSince(since: number): StoredLockEvent[] {
    return this.#since.all(since).map(fromRow);
  }
}
