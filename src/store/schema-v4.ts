/**
 * Schema version 4: an outbox row keeps its envelope signed once (EXCHANGE.md §3, version
 * 1.2), made when the row is created, so draining a backlog sends stored bytes instead of
 * signing each message while a train is being read. NULL for rows made before, or where
 * no sealer was set (the sync then signs at publish): a seal is a saving, never a need.
 */
export const SCHEMA_V4 = `
ALTER TABLE outbox ADD COLUMN envelope_seal BLOB;
`;
