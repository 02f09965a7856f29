/**
 * The SQLite store (DESIGN.md §6). Knows nothing of BLE, serial, frames or MQTT: it keeps
 * what the layers around it hand over, in single transactions, and never loses or
 * duplicates it.
 *
 * - `openStore({ path, trustOnFirstUse?, clock?, log?, backoff?, space? })` → Store
 * - `store.recordRead({ read, inspection?, checkpoint?, alerts? }, decide)` → RecordedRead (one
 *   transaction; `decide` is src/ingest's verdict, asked inside it)
 * - `store.saveReadCheckpoint(cp)` / `store.loadReadCheckpoint(lockId)`
 * - `store.transaction(fn)`: several calls in one transaction; `store.open`, `store.ping()`
 * - `store.outbox`: claimDue, recordMessageId, findByMessageId, acknowledge, reject,
 *   retryLater, recoverInFlight, requeue, enqueue, findPairing, status (see Outbox's doc comment)
 * - `store.outages`, `store.exchangeStats`: for the sync's reports (traceability Art. 11,
 *   CTOP Art. 5)
 * - `store.locks.provision(list)`, `store.manifests.list(query)`, `store.alarm`,
 *   `store.retention(options)`
 * - `exportBundle` / `importBundle`: signed bundles for manual transfer
 * - `backupDatabase(db, out)` / `restoreDatabase(file, db, { force })`: online backups that
 *   restore; a restore refuses a database another process holds open (E_STORE_IN_USE)
 * - `store.audit`: record / list, the console's append-only audit trail (EurAsEC 2009 Art. 11)
 * - `store.revocations.apply(signers, gatewayId, now)`: flags stored manifests of a signer
 *   revoked since they were verified, with an alert queued for the exchange
 */
export { type AlertRecord, Alerts, alertFingerprint, STORE_ALERT_KINDS } from './alerts.js';
export {
  AUDIT_ACTIONS,
  type AuditInput,
  type AuditOutcome,
  type AuditQuery,
  type AuditRecord,
  AuditTrail,
} from './audit.js';
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export {
  type BackupSummary,
  backupDatabase,
  type RestoreOptions,
  type RestoreSummary,
  restoreDatabase,
} from './backup.js';
export { type ExportOptions, type ExportSummary, exportBundle } from './bundle-export.js';
export { BUNDLE_FORMAT, type BundleContents, type OpenedBundle, openBundle } from './bundle-format.js';
export { type ImportOptions, type ImportSummary, importBundle } from './bundle-import.js';
export { type OpenDatabaseOptions, openDatabase } from './database.js';
export { type ExchangeDay, type ExchangeDelta, ExchangeStats, utcDay } from './exchange-stats.js';
export { encodeEvents, type LockEvents, type StoredLockEvent } from './lock-events.js';
export type { LockListEntry, LockRecord, Locks, PinSource, ProvisionedLock } from './locks.js';
export type { ManifestListEntry, ManifestQuery, ManifestRecord, Manifests } from './manifests.js';
export { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';
export { type OutageRecord, Outages } from './outages.js';
export {
  OUTBOX_KINDS,
  OUTBOX_STATES,
  Outbox,
  type OutboxEntry,
  type OutboxKind,
  type OutboxReceipt,
  type OutboxRouting,
  type OutboxSealer,
  type OutboxState,
  type OutboxStatus,
  type UnsealedRow,
} from './outbox.js';
export { type ReadRecord, type Reads, readUid } from './reads.js';
export type { RetentionOptions, RetentionReport } from './retention.js';
export type { FlaggedManifest, Revocations, RevokedSigner } from './revocations.js';
export type { SpaceOptions, StoreAlarm } from './space.js';
export { DEFAULT_DB_PATH, openStore, Store, type StoreOptions } from './store.js';
export * from './types.js';
