import { createHash } from 'node:crypto';
import { encodeCanonical } from '../../../src/cbor/index.js';
import {
  deriveMessageId,
  Ed25519Signer,
  type Envelope,
  encodeOutageReport,
  gatewayTopic,
  ID_CONTEXTS,
  KIND_ACTIONS,
  KIND_TOPICS,
  type MessageKind,
  nameBasedUuid,
  type ParsedTopic,
  parseGatewayTopic,
} from '../../../src/exchange-wire/index.js';
import { generateKey, publicPart, type TrustStore } from '../../../src/keys/index.js';
import { vectorPairingRecord } from '../../lib/exchange-vectors.js';
import { fixtureManifests, fixtureTrustStore } from './fixtures.js';

export const GATEWAY = { country: 'KZ', checkpoint: 'DOSTYK', gatewayId: 'gw-dostyk-1' } as const;
export const GATEWAY_ADDRESS = 'CTOP://KZ/DOSTYK/gw-dostyk-1';
export const EXCHANGE_ADDRESS = 'CTOP://KZ/EXCHANGE';

/** Keys and trust of both ends, and valid messages of every kind to mutate. */
export interface SyncFuzzWorld {
  gateway: Ed25519Signer;
  exchange: Ed25519Signer;
  /** The exchange's view: customs signers and the gateway key (OpenSSL-speed). */
  exchangeTrust: TrustStore;
  /** The gateway's view: customs signers and the exchange key. */
  gatewayTrust: TrustStore;
  envelopes: Envelope[];
  topicOf(kind: MessageKind): ParsedTopic;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

export function envelopeFor(kind: MessageKind, payload: Uint8Array, routing: Envelope['routing']): Envelope {
  const payloadSha256 = sha256(payload);
  const messageId = deriveMessageId(GATEWAY_ADDRESS, kind, payloadSha256);
  return {
    messageId,
    conversationId: nameBasedUuid(ID_CONTEXTS.conversation, [GATEWAY_ADDRESS, 'message', messageId]),
    procedureId: nameBasedUuid(ID_CONTEXTS.procedure, ['gateway', GATEWAY_ADDRESS]),
    action: KIND_ACTIONS[kind],
    kind,
    from: GATEWAY_ADDRESS,
    to: EXCHANGE_ADDRESS,
    replyTo: gatewayTopic(GATEWAY, 'receipt'),
    sentAt: 1_767_225_600_000,
    attempt: 1,
    payloadSha256,
    payload,
    routing,
  };
}

export function syncFuzzWorld(): SyncFuzzWorld {
  const gatewayKey = generateKey('gateway', GATEWAY.gatewayId, { country: 'KZ' });
  const exchangeKey = generateKey('exchange', 'kz-exchange-1', { country: 'KZ' });
  const exchangeTrust = fixtureTrustStore();
  exchangeTrust.add(publicPart(gatewayKey));
  const gatewayTrust = fixtureTrustStore();
  gatewayTrust.add(publicPart(exchangeKey));
  const manifests = fixtureManifests().filter((m) => m.bytes.byteLength < 4096);
  const envelopes: Envelope[] = [
    ...manifests.slice(0, 4).map(({ name, bytes }) =>
      envelopeFor('manifest', bytes, {
        manifestId: sha256(bytes).toString('hex'),
        lockId: 'SSL-KZ-000123',
        container: 'MSKU4002711',
        verification: name.includes('tampered') ? 'bad_signature' : 'valid',
      }),
    ),
    envelopeFor(
      'lock_events',
      encodeCanonical({
        lockId: 'SSL-KZ-000123',
        identityKey: Buffer.alloc(32, 3),
        events: [[1, 1_767_225_600, 1, Buffer.from('MSKU4002711'), Buffer.alloc(32), Buffer.alloc(64, 5)]],
      }),
      { lockId: 'SSL-KZ-000123', count: 1 },
    ),
    envelopeFor(
      'alert',
      encodeCanonical({
        alertId: 3,
        kind: 'tamper',
        lockId: 'SSL-KZ-000123',
        detail: 'opened',
        raisedAt: 1_767_225_600_000,
        gatewayId: 'gw-dostyk-1',
      }),
      { lockId: 'SSL-KZ-000123', alert: 'tamper' },
    ),
    envelopeFor(
      'outage',
      encodeOutageReport({
        outageId: 7,
        gateway: GATEWAY_ADDRESS,
        startedAt: 1_767_225_600_000,
        endedAt: 1_767_229_200_000,
        cause: 'broker_unreachable',
        detail: 'mqtt://broker:1883: ECONNREFUSED',
      }),
      {},
    ),
    envelopeFor('pairing', encodeCanonical(vectorPairingRecord()), { lockId: 'SSL-KZ-000123' }),
  ];
  const topics = new Map(
    (Object.keys(KIND_TOPICS) as MessageKind[]).map((kind) => [
      kind,
      parseGatewayTopic(gatewayTopic(GATEWAY, KIND_TOPICS[kind]))!,
    ]),
  );
  return {
    gateway: new Ed25519Signer(gatewayKey, 'gateway'),
    exchange: new Ed25519Signer(exchangeKey, 'exchange'),
    exchangeTrust,
    gatewayTrust,
    envelopes,
    topicOf: (kind) => topics.get(kind)!,
  };
}
