/**
 * Sync to the customs exchange over MQTT (DESIGN.md §7; wire format in
 * firmware-protocol/EXCHANGE.md).
 *
 * - `new SyncEngine({ store, gatewayKey, trust, config, log?, clock? })`
 *   - `start()`: re-queues rows a crash left in flight, connects (brokers in turn), drains
 *   - `stop()`: graceful; nothing is lost (in-flight rows go back to the queue)
 *   - `status()`: connected, backlog, in flight, oldest unacknowledged age, current outage
 *   - `kick()`: rows were added, look now
 *   - `queryByDocument({ manifestId | container | messageId })`, `queryUpdates({ since, until })`
 *   - events (typed, `SyncEventMap`): connected, disconnected, sent, receipt, rejection,
 *     retry, receipt-ignored, outage-start, outage-end
 * - `resolveSyncConfig(config)` validates a configuration (E_SYNC_CONFIG)
 * - `loadBrokerPassword(file)` reads the owner-only password file (E_KEY_PERMISSIONS)
 * - `../exchange-wire/`: envelope, receipt, query, status and outage-report codecs, addresses,
 *   topics and name-based ids, shared with the reference exchange (src/reference-exchange/)
 */
export {
  loadTlsFiles,
  type ResolvedSyncConfig,
  resolveSyncConfig,
  type SyncConfig,
  type TlsFiles,
  type TlsMaterial,
} from './config.js';
export { loadBrokerPassword, MAX_PASSWORD_BYTES } from './credentials.js';
export { SyncEngine, type SyncEngineOptions } from './engine.js';
export type { SyncEventMap, SyncStatus } from './events.js';
export { OUTAGE_CAUSES, type OutageCause } from './outage-cause.js';
export { conversationIdOf, envelopeFor, messageIdOf, procedureIdOf } from './outbox-envelope.js';
export type { DocumentQuery, UpdatesQuery } from './query-client.js';
