import type Database from 'better-sqlite3';
import type { ReadCheckpoint } from './types.js';

interface CheckpointRow {
  lock_id: string;
  manifest_sha256: Buffer;
  size: number;
  prefix: Buffer;
}

/**
 * Partial manifest reads, so a read cut off by a restart continues from its verified
 * prefix instead of starting over with a train waiting. Cleared by a complete ingest.
 */
export class ReadCheckpoints {
  readonly #save: Database.Statement<Record<string, unknown>>;
  readonly #load: Database.Statement<[string], CheckpointRow>;
  readonly #clear: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#save = db.prepare(`
      INSERT INTO read_checkpoint (lock_id, manifest_sha256, size, prefix, saved_at)
      VALUES (@lockId, @hash, @size, @prefix, @now)
      ON CONFLICT (lock_id) DO UPDATE SET manifest_sha256 = excluded.manifest_sha256, size = excluded.size,
        prefix = excluded.prefix, saved_at = excluded.saved_at`);
    this.#load = db.prepare('SELECT * FROM read_checkpoint WHERE lock_id = ?');
    this.#clear = db.prepare('DELETE FROM read_checkpoint WHERE lock_id = ?');
  }

  save(checkpoint: ReadCheckpoint, now: number): void {
    this.#save.run({
      lockId: checkpoint.lockId,
      hash: checkpoint.manifestHash,
      size: checkpoint.size,
      prefix: checkpoint.prefix,
      now,
    });
  }

  load(lockId: string): ReadCheckpoint | undefined {
    const row = this.#load.get(lockId);
    return row
      ? { lockId: row.lock_id, manifestHash: row.manifest_sha256, size: row.size, prefix: row.prefix }
      : undefined;
  }

  clear(lockId: string): boolean {
    return this.#clear.run(lockId).changes === 1;
  }
}
