import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * Schema version 3: a receipt is stored once, and the outbox rows it settles point at it.
 *
 * The exchange answers up to 16 messages in one signed receipt (EXCHANGE.md §5.1), and its
 * exact bytes are the evidence kept for the traceability period. Version 1 copied those
 * bytes (about 3.5 KB for 16 results) into every row the receipt settled: each settled row
 * grew from ~150 bytes to a page of its own, so settling a drain rewrote a page per message
 * and the table held each receipt sixteen times. Now a settled row grows by one integer.
 */
export const SCHEMA_V3 = `
CREATE TABLE receipt (
  receipt_id INTEGER PRIMARY KEY,
  -- SHA-256 of bytes: the same receipt settling several rows is stored once
  sha256     BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),
  -- the signed receipt exactly as received
  bytes      BLOB NOT NULL
) STRICT;

ALTER TABLE outbox ADD COLUMN receipt_id INTEGER REFERENCES receipt (receipt_id);
-- retention removes the receipts no row points at any more; FK checks on receipt need it too
CREATE INDEX outbox_receipt ON outbox (receipt_id) WHERE receipt_id IS NOT NULL;
`;

/**
 * Creates the table and moves every stored receipt into it, one row per distinct receipt.
 * In SQL statements over the whole table (SHA-256 as a function of this connection), so a
 * gateway with years of receipts migrates without holding them in memory.
 */
export function migrateToV3(db: Database.Database): void {
  db.exec(SCHEMA_V3);
  db.function('ctop_sha256', { deterministic: true }, (bytes: unknown) =>
    createHash('sha256')
      .update(bytes as Buffer)
      .digest(),
  );
  db.exec(`
    INSERT INTO receipt (sha256, bytes)
      SELECT ctop_sha256(receipt), receipt FROM outbox WHERE receipt IS NOT NULL ORDER BY outbox_id
      ON CONFLICT (sha256) DO NOTHING;
    UPDATE outbox SET receipt_id = (SELECT receipt_id FROM receipt WHERE sha256 = ctop_sha256(outbox.receipt))
      WHERE receipt IS NOT NULL;
    ALTER TABLE outbox DROP COLUMN receipt;`);
}
