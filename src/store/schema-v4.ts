/**
 * Schema version 4: an outbox row's envelope signed once (EXCHANGE.md §3, version 1.2),
 * made with the row, so draining a backlog sends stored bytes instead of signing each
 * message while a train is being read. A table of its own: the drain rewrites outbox rows
 * (claimed, settled) and each rewrite copies its pages to the WAL, so the ~700-byte seal
 * stays out of them. No seal for rows made before, or where no sealer was set: the sync
 * then signs at publish — a seal is a saving, never a need. Retention deletes the seals of
 * acknowledged rows; deleting a row deletes its seal.
 */
export const SCHEMA_V4 = `
CREATE TABLE outbox_seal (
  outbox_id INTEGER PRIMARY KEY REFERENCES outbox (outbox_id) ON DELETE CASCADE,
  seal      BLOB NOT NULL
) STRICT;
`;
