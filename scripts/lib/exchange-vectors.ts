import { createHash } from 'node:crypto';
import { decodeDeterministic, encodeCanonical } from '../../src/cbor/index.js';
import {
  CONTENT_TYPES,
  deriveMessageId,
  Ed25519Signer,
  type Envelope,
  ID_CONTEXTS,
  KIND_ACTIONS,
  nameBasedUuid,
  QUERY_ACTIONS,
  QUERY_RESULT_ACTION,
  RECEIPT_ACTION,
  type ReceiptResult,
  sealEnvelope,
  sealEnvelopeCopy,
  signMessage,
  signQuery,
  signQueryResult,
  signReceipt,
} from '../../src/exchange-wire/index.js';
import { generateKey, type PrivateKey } from '../../src/keys/index.js';

/**
 * The vectors of firmware-protocol/EXCHANGE.md §11, built from the values its text gives:
 * fixed seeds, fixed times, the pairing record below. `npm run vectors` writes them into
 * the code blocks of EXCHANGE.md; test/exchange-wire/exchange-spec.test.ts checks the
 * blocks are current and rebuilds the hex from the text on its own. Published seeds:
 * they protect nothing.
 */

export interface ExchangeVector {
  /** The info string of its code block in EXCHANGE.md, e.g. `hex envelope`. */
  block: string;
  text: string;
}

const seeded = (role: 'gateway' | 'exchange' | 'lock', kid: string, byte: number): PrivateKey =>
  generateKey(role, kid, {
    random: () => new Uint8Array(32).fill(byte),
    clock: { now: () => Date.UTC(2025, 2, 14, 8, 30), monotonic: () => 0 },
  });

export const VECTOR_KEYS = {
  gateway: seeded('gateway', 'gw-dostyk-1', 0x01),
  exchange: seeded('exchange', 'kz-exchange-1', 0x02),
  lock: seeded('lock', 'SSL-KZ-000123', 0x03),
};

export const VECTOR_FROM = 'CTOP://KZ/DOSTYK/gw-dostyk-1';
export const VECTOR_EXCHANGE = 'CTOP://KZ/EXCHANGE';
const TOPIC = 'ctop/v1/KZ/DOSTYK/gw-dostyk-1';
const MANIFEST_ID = '9c4e1a7b3f5d2e8c0a6b4d9f1e3c5a7b2d8f0e6c4a1b3d5f7e9c2a4b6d8f0e1c';

/** The pairing record of §11, every field of §4.3's CDDL. */
export function vectorPairingRecord(): Record<string, unknown> {
  return {
    lockId: 'SSL-KZ-000123',
    identityKey: Buffer.from(VECTOR_KEYS.lock.publicKey),
    container: 'FCIU5093182',
    wagon: '42546184',
    manifestId: MANIFEST_ID,
    commitCounter: 41,
    sealCounter: 42,
    sealEvent: Buffer.from('5f0c3a1e9b7d24c86a51f3e0d2b98c47a16e5d3f0b9c82a4e7f1d6053c2b8a91', 'hex'),
    sealedAt: 1_741_941_000_000,
    carrierKid: 'kz-carrier-ktz-1',
    gatewayId: 'gw-dostyk-1',
  };
}

/** CBOR diagnostic notation (RFC 8949 §8) of a decoded value, map keys in encoded order. */
export function diagnostic(value: unknown): string {
  if (value instanceof Map) {
    return `{${[...value].map(([k, v]) => `${diagnostic(k)}: ${diagnostic(v)}`).join(', ')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(diagnostic).join(', ')}]`;
  if (value instanceof Uint8Array) return `h'${Buffer.from(value).toString('hex')}'`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean' || value === null) return String(value);
  throw new TypeError(`no diagnostic notation for ${typeof value}`);
}

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

export function buildExchangeVectors(): ExchangeVector[] {
  const gateway = new Ed25519Signer(VECTOR_KEYS.gateway);
  const exchange = new Ed25519Signer(VECTOR_KEYS.exchange);
  const payload = encodeCanonical(vectorPairingRecord());
  const payloadSha256 = sha256(payload);
  const messageId = deriveMessageId(VECTOR_FROM, 'pairing', payloadSha256);
  const conversationId = nameBasedUuid(ID_CONTEXTS.conversation, [VECTOR_FROM, 'message', messageId]);
  const procedureId = nameBasedUuid(ID_CONTEXTS.procedure, ['manifest', MANIFEST_ID]);
  const envelope: Envelope = {
    messageId,
    conversationId,
    procedureId,
    action: KIND_ACTIONS.pairing,
    kind: 'pairing',
    from: VECTOR_FROM,
    to: VECTOR_EXCHANGE,
    replyTo: `${TOPIC}/receipt`,
    sentAt: 1_741_941_000_000,
    attempt: 1,
    payloadSha256,
    payload,
    routing: {
      lockId: 'SSL-KZ-000123',
      manifestId: MANIFEST_ID,
      container: 'FCIU5093182',
      wagon: '42546184',
      sealCounter: 42,
    },
  };
  const sealed = sealEnvelope(gateway, envelope);
  const result = { messageId, conversationId, payloadSha256, duplicate: false };
  const receipt = (
    issuedAt: number,
    r: Pick<ReceiptResult, 'envelopeSha256' | 'status' | 'reason' | 'receivedAt'>,
  ) =>
    signReceipt(exchange, {
      action: RECEIPT_ACTION,
      from: VECTOR_EXCHANGE,
      to: VECTOR_FROM,
      issuedAt,
      results: [{ ...result, ...r }],
    });
  const v12 = sealEnvelopeCopy(gateway, envelope);
  const v12Resend = sealEnvelopeCopy(gateway, { ...envelope, sentAt: 1_741_941_061_000, attempt: 2 });
  const altered = Buffer.from(sealed);
  altered[altered.length - 1]! ^= 0x01;
  // Built with the general signer: the envelope type does not allow what this vector shows.
  const tooDeep = signMessage(gateway, CONTENT_TYPES.envelope, {
    ...envelope,
    routing: { lockId: { id: 'SSL-KZ-000123' } },
  });
  const queryId = 'urn:uuid:3b1f6e0e-52c4-4d5e-9a57-2f4c8e9d1a60';
  const query = signQuery(gateway, {
    queryId,
    from: VECTOR_FROM,
    to: VECTOR_EXCHANGE,
    replyTo: `${TOPIC}/query-result`,
    sentAt: 1_741_941_060_000,
    action: QUERY_ACTIONS.document,
    messageId,
  });
  const answer = signQueryResult(exchange, {
    action: QUERY_RESULT_ACTION,
    queryId,
    from: VECTOR_EXCHANGE,
    to: VECTOR_FROM,
    issuedAt: 1_741_941_060_100,
    status: 'ok',
    records: [
      {
        seq: 1,
        messageId,
        conversationId,
        procedureId,
        kind: 'pairing',
        from: VECTOR_FROM,
        sentAt: 1_741_941_000_000,
        receivedAt: 1_741_941_000_200,
        payloadSha256,
        payloadSize: payload.byteLength,
        manifestId: MANIFEST_ID,
        container: 'FCIU5093182',
        lockId: 'SSL-KZ-000123',
        duplicates: 0,
      },
    ],
  });
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return [
    {
      block: 'text messageId-1',
      text: deriveMessageId(VECTOR_FROM, 'manifest', new Uint8Array(32).fill(1)),
    },
    { block: 'cbor-diag pairing-record', text: diagnostic(decodeDeterministic(payload)) },
    { block: 'hex pairing-payload', text: hex(payload) },
    { block: 'hex envelope', text: hex(sealed) },
    {
      block: 'text pairing-ids',
      text: [
        `messageId      ${messageId}`,
        `conversationId ${conversationId}`,
        `procedureId    ${procedureId}`,
      ].join('\n'),
    },
    {
      block: 'hex receipt',
      text: hex(
        receipt(1_741_941_000_250, {
          envelopeSha256: sha256(sealed),
          status: 'accepted',
          receivedAt: 1_741_941_000_200,
        }),
      ),
    },
    { block: 'hex envelope-bad-signature', text: hex(altered) },
    {
      block: 'hex receipt-bad-signature',
      text: hex(
        receipt(1_741_941_000_350, {
          envelopeSha256: sha256(altered),
          status: 'rejected',
          reason: 'bad_signature',
          receivedAt: 1_741_941_000_300,
        }),
      ),
    },
    { block: 'hex envelope-too-deep', text: hex(tooDeep) },
    { block: 'hex envelope-v1.2', text: hex(v12) },
    { block: 'hex envelope-v1.2-resend', text: hex(v12Resend) },
    { block: 'hex query-document', text: hex(query) },
    { block: 'hex query-result', text: hex(answer) },
  ];
}

/** `doc` with each vector's code block replaced by its current text; throws if a block is missing. */
export function withExchangeVectors(doc: string, vectors: readonly ExchangeVector[]): string {
  let out = doc;
  for (const v of vectors) {
    const re = new RegExp(
      `(\`\`\`${v.block.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n)[\\s\\S]*?(\\n\`\`\`)`,
    );
    if (!re.test(out)) throw new Error(`EXCHANGE.md has no \`\`\`${v.block} block`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}${v.text}${close}`);
  }
  return out;
}
