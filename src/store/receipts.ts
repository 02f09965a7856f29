import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * The receipt table (schema v3): each signed receipt stored once, found again by its
 * SHA-256, however many outbox rows it settles.
 */
export class StoredReceipts {
  readonly #find: Database.Statement<[Buffer], number>;
  readonly #insert: Database.Statement<[Buffer, Buffer], number>;
  /**
   * The last receipt hashed, with a copy of its bytes: the sync settles the rows of one
   * receipt one after another, so each receipt is hashed once, not once per row. The copy
   * (not the caller's buffer, which could change) is what a later receipt is compared with.
   */
  #last: { bytes: Buffer; sha256: Buffer } | undefined;

  constructor(db: Database.Database) {
    this.#find = db.prepare<[Buffer], number>('SELECT receipt_id FROM receipt WHERE sha256 = ?').pluck();
    this.#insert = db
      .prepare<[Buffer, Buffer], number>(
        'INSERT INTO receipt (sha256, bytes) VALUES (?, ?) RETURNING receipt_id',
      )
      .pluck();
  }

  /** The id of `bytes` in the receipt table, inserted when new; call inside the settling transaction. */
  idOf(receipt: Uint8Array): number {
    const bytes = Buffer.isBuffer(receipt)
      ? receipt
      : Buffer.from(receipt.buffer, receipt.byteOffset, receipt.byteLength);
    const sha256 = this.#sha256(bytes);
    return this.#find.get(sha256) ?? this.#insert.get(sha256, bytes)!;
  }

  #sha256(bytes: Buffer): Buffer {
    if (this.#last?.bytes.equals(bytes)) return this.#last.sha256;
    const sha256 = createHash('sha256').update(bytes).digest();
    this.#last = { bytes: Buffer.from(bytes), sha256 };
    return sha256;
  }
}
