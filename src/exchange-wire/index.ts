/**
 * The wire format between gateways and the exchange (firmware-protocol/EXCHANGE.md): pure
 * codecs, no MQTT and no store. Shared by the agent's sync (src/sync/) and the reference
 * exchange (src/reference-exchange/).
 */
export * from './address.js';
export * from './ed25519.js';
export * from './envelope.js';
export { FieldReader } from './fields.js';
export * from './message-kinds.js';
export * from './outage-report.js';
export * from './payloads.js';
export * from './query.js';
export * from './reasons.js';
export * from './receipt.js';
export * from './signed.js';
export * from './status.js';
export * from './uuid.js';
