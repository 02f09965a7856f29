import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { LockDescription } from './types.js';

export type PinSource = 'provisioned' | 'tofu' | 'imported';

export interface LockRecord {
  lockId: string;
  /** The pinned Ed25519 identity key; absent until pinned. */
  identityKey?: Buffer;
  pinnedBy?: PinSource;
  pinnedAt?: number;
  firstSeenAt?: number;
  /** The fields below come from trusted reads only. */
  lastSeenAt?: number;
  lastReadId?: number;
  firmware?: string;
  battery?: number;
  sealState?: number;
  eventCount?: number;
  eventHead?: Buffer;
  manifestId?: string;
}

export interface LockListEntry extends LockRecord {
  reads: number;
  alerts: number;
  events: number;
}

export interface ProvisionedLock {
  lockId: string;
  identityKey: Uint8Array;
}

interface LockRow {
  lock_id: string;
  identity_key: Buffer | null;
  pinned_by: PinSource | null;
  pinned_at: number | null;
  first_seen_at: number | null;
  last_seen_at: number | null;
  last_read_id: number | null;
  firmware: string | null;
  battery: number | null;
  seal_state: number | null;
  event_count: number | null;
  event_head: Buffer | null;
  manifest_id: string | null;
}

function fromRow(r: LockRow): LockRecord {
  return {
    lockId: r.lock_id,
    identityKey: r.identity_key ?? undefined,
    pinnedBy: r.pinned_by ?? undefined,
    pinnedAt: r.pinned_at ?? undefined,
    firstSeenAt: r.first_seen_at ?? undefined,
    lastSeenAt: r.last_seen_at ?? undefined,
    lastReadId: r.last_read_id ?? undefined,
    firmware: r.firmware ?? undefined,
    battery: r.battery ?? undefined,
    sealState: r.seal_state ?? undefined,
    eventCount: r.event_count ?? undefined,
    eventHead: r.event_head ?? undefined,
    manifestId: r.manifest_id ?? undefined,
  };
}

/**
 * The locks the gateway knows and the identity key pinned for each. A key is pinned once
 * (provisioned list, trust on first use, or an imported bundle) and never silently replaced:
 * a lock presenting another key is a clone until its vendor says otherwise.
 */
export class Locks {
  readonly #get: Database.Statement<[string], LockRow>;
  readonly #insert: Database.Statement<{ lockId: string; now: number | null }>;
  readonly #pin: Database.Statement<{ lockId: string; key: Uint8Array; by: PinSource; now: number }>;
  readonly #seen: Database.Statement<Record<string, unknown>>;
  readonly #list: Database.Statement<[], LockRow & { reads: number; alerts: number; events: number }>;
  readonly #provision: (
    entries: readonly ProvisionedLock[],
    now: number,
  ) => { pinned: number; unchanged: number };

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT * FROM lock WHERE lock_id = ?');
    this.#insert = db.prepare(
      'INSERT INTO lock (lock_id, first_seen_at) VALUES (@lockId, @now) ON CONFLICT (lock_id) DO NOTHING',
    );
    this.#pin = db.prepare(
      'UPDATE lock SET identity_key = @key, pinned_by = @by, pinned_at = @now WHERE lock_id = @lockId AND identity_key IS NULL',
    );
    this.#seen = db.prepare(`
      UPDATE lock SET first_seen_at = coalesce(first_seen_at, @now), last_seen_at = @now, last_read_id = @readId,
        firmware = @firmware, battery = @battery, seal_state = @sealState, event_count = @eventCount,
        event_head = @eventHead, manifest_id = coalesce(@manifestId, manifest_id)
      WHERE lock_id = @lockId`);
    this.#list = db.prepare(`
      SELECT l.*,
        (SELECT count(*) FROM lock_read r WHERE r.lock_id = l.lock_id) AS reads,
        (SELECT count(*) FROM alert a WHERE a.lock_id = l.lock_id) AS alerts,
        (SELECT count(*) FROM lock_event e WHERE e.lock_id = l.lock_id) AS events
      FROM lock l ORDER BY l.lock_id`);
    this.#provision = db.transaction((entries: readonly ProvisionedLock[], now: number) => {
      let pinned = 0;
      let unchanged = 0;
      for (const { lockId, identityKey } of entries) {
        if (identityKey.byteLength !== 32) {
          throw new CtopError('E_STORE_INPUT', `provisioned key of lock ${lockId} is not 32 bytes`);
        }
        const existing = this.get(lockId);
        if (existing?.identityKey) {
          if (!existing.identityKey.equals(identityKey)) {
            throw new CtopError(
              'E_STORE_PIN_CONFLICT',
              `lock ${lockId} is pinned (${existing.pinnedBy}) to another identity key than the provisioned one`,
              { details: { lockId } },
            );
          }
          unchanged++;
          continue;
        }
        this.#insert.run({ lockId, now: null });
        this.#pin.run({ lockId, key: identityKey, by: 'provisioned', now });
        pinned++;
      }
      return { pinned, unchanged };
    }).immediate;
  }

  get(lockId: string): LockRecord | undefined {
    const row = this.#get.get(lockId);
    return row ? fromRow(row) : undefined;
  }

  /** The lock's record, created unpinned when the lock was never seen. */
  ensure(lockId: string, now: number): LockRecord {
    this.#insert.run({ lockId, now });
    return this.get(lockId)!;
  }

  /** Pins a key to a lock that has none; false when a key was already pinned. */
  pin(lockId: string, identityKey: Uint8Array, by: PinSource, now: number): boolean {
    return this.#pin.run({ lockId, key: identityKey, by, now }).changes === 1;
  }

  /**
   * Loads a provisioned list (lock id → identity key from the lock vendor) in one
   * transaction. A lock already pinned to another key fails the whole list with
   * E_STORE_PIN_CONFLICT.
   */
  provision(entries: readonly ProvisionedLock[], now: number): { pinned: number; unchanged: number } {
    return this.#provision(entries, now);
  }

  /** What a trusted read learnt about the lock. */
  recordTrustedRead(
    lock: LockDescription,
    readId: number,
    manifestId: string | undefined,
    now: number,
  ): void {
    this.#seen.run({
      lockId: lock.lockId,
      now,
      readId,
      firmware: lock.firmware,
      battery: lock.battery,
      sealState: lock.sealState,
      eventCount: lock.eventCount,
      eventHead: lock.eventHead,
      manifestId: manifestId ?? null,
    });
  }

  list(): LockListEntry[] {
    return this.#list
      .all()
      .map((r) => ({ ...fromRow(r), reads: r.reads, alerts: r.alerts, events: r.events }));
  }
}
