/**
 * The reference exchange: the other end of the sync in tests, the benchmark, `npm start`
 * and `scripts/exchange.ts`. What a real exchange must do is specified in
 * firmware-protocol/EXCHANGE.md; this is one implementation of it.
 *
 * - `startExchange({ brokerUrl, dbPath, key, trust, address?, tls?, protocolVersion?, … })`
 *   → `{ stop(), stats, db, address, connected }` once connected and subscribed
 * - `judgeEnvelope(bytes, topic, ctx)`: the checks, as a pure function
 * - `mosquittoAcl()`: the broker ACL that confines each gateway to its subtree
 * - `ejabberdMqttSettings()` / `ejabberdMqttYaml()`: the same for ejabberd's MQTT service
 */
export { ExchangeDb, type StoredMessage, toQueryRecord } from './db.js';
export {
  type EjabberdMqttOptions,
  ejabberdMqttSettings,
  ejabberdMqttYaml,
  toEjabberdYaml,
} from './ejabberd-mqtt.js';
export {
  type Exchange,
  type ExchangeCounters,
  type ExchangeFaults,
  type ExchangeOptions,
  startExchange,
} from './exchange.js';
export {
  type JudgeContext,
  judgeEnvelope,
  REJECTION_REASONS,
  type RejectionReason,
  type Verdict,
} from './judge.js';
export { mosquittoAcl } from './mosquitto-acl.js';
export { answerQuery } from './queries.js';
