import { hash } from 'node:crypto';
import { head, sign1FromParts, signParts } from '../cbor/cose-frame.js';
import { encodeCanonical } from '../cbor/index.js';
import { ADDRESS_PATTERN } from './address.js';
import type { Ed25519Signer } from './ed25519.js';
import { FieldReader, malformed } from './fields.js';
import { MESSAGE_KINDS, type MessageKind } from './message-kinds.js';
import {
  CONTENT_TYPES,
  decodeBody,
  envelopeProtectedHeader,
  openSigned,
  PER_COPY_HEADERS,
  type SignedMessage,
  signBodyParts,
} from './signed.js';
import { URN_UUID_PATTERN } from './uuid.js';

/**
 * The envelope a gateway wraps every outbox row in (EXCHANGE.md §4), after the SOAP
 * header of EEC decision No. 124: To / ReplyTo / Action / MessageID / ConversationID /
 * ProcedureID, plus the original bytes exactly as stored and the gateway's signature.
 */
export interface Envelope {
  /** `urn:uuid:` UUIDv8 from sender, kind and payload hash: identical on every resend. */
  messageId: string;
  /** Groups the messages one lock read produced (manifest, events, alerts). */
  conversationId: string;
  /** The consignment's journey: the manifest, else the lock, else the gateway. */
  procedureId: string;
  action: string;
  kind: MessageKind;
  /** The gateway's address, `CTOP://KZ/DOSTYK/gw-dostyk-1`. */
  from: string;
  /** The exchange's address. */
  to: string;
  /** The topic the receipt is expected on (the gateway's `receipt` topic). */
  replyTo: string;
  /** When this copy was published, ms since the epoch; differs between resends. */
  sentAt: number;
  /** 1 for the first publish; resends count up. */
  attempt: number;
  payloadSha256: Uint8Array;
  /** The original bytes as stored (a manifest exactly as read from the lock). */
  payload: Uint8Array;
  /** Clear fields for indexing without decoding the payload (container, lock id, manifest id…). */
  routing: Record<string, string | number | boolean | null>;
}

export interface OpenedEnvelope {
  envelope: Envelope;
  /** The COSE layer: kid and the bytes the signature covers. */
  signed: SignedMessage;
}

/**
 * What EXCHANGE.md §5.3 step 1 reads of a message on an envelope topic: the COSE layer
 * (whatever its content type) and the three fields a receipt result needs. Anything less
 * is dropped unanswered; anything more is answered.
 */
export interface EnvelopeHead {
  signed: SignedMessage;
  /** The decoded body (a map within the envelope's limits). */
  body: Map<unknown, unknown>;
  messageId: string;
  conversationId: string;
  /** As declared: a result echoes it, right or wrong. */
  payloadSha256: Uint8Array;
  /** SHA-256 of the bytes as received: the result's `envelopeSha256`. */
  envelopeSha256: Buffer;
}

const TOPIC_PATTERN = /^ctop\/v1(\/[A-Za-z0-9._-]+){4}$/;
const ACTION_PATTERN = /^[a-z0-9][a-z0-9./-]{0,127}$/;
/** EXCHANGE.md §10: depth 2 (the top map and routing), 64 pairs per map, no arrays. */
export const ENVELOPE_LIMITS = {
  maxDepth: 2,
  maxMapSize: 64,
  maxTextBytes: 1024,
  maxArrayLength: 0,
} as const;

/** The envelope's 13 keys in deterministic order (by encoded key: shorter first, then bytewise). */
const ENVELOPE_KEYS: readonly (keyof Envelope)[] = (
  [
    'messageId',
    'conversationId',
    'procedureId',
    'action',
    'kind',
    'from',
    'to',
    'replyTo',
    'sentAt',
    'attempt',
    'payloadSha256',
    'payload',
    'routing',
  ] as const
)
  .map((key) => ({ key, bytes: encodeCanonical(key) }))
  .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
  .map((e) => e.key);
/** What changes between publishes of one row; every other field is the row's. */
const PER_PUBLISH = ['sentAt', 'attempt'] as const;
const FIRST_PER_PUBLISH = ENVELOPE_KEYS.indexOf(PER_PUBLISH[0]);
// The template below relies on the two per-publish keys sitting side by side in key order.
if (ENVELOPE_KEYS.indexOf(PER_PUBLISH[1]) !== FIRST_PER_PUBLISH + 1) {
  throw new Error('envelope keys: sentAt and attempt are expected to be adjacent in deterministic order');
}
const KEYS_BEFORE = ENVELOPE_KEYS.slice(0, FIRST_PER_PUBLISH);
const KEYS_AFTER = ENVELOPE_KEYS.slice(FIRST_PER_PUBLISH + 2);
/** A map of 13 pairs. */
const MAP_HEAD = Buffer.of(0xa0 | ENVELOPE_KEYS.length);
const SENT_AT_KEY = encodeCanonical('sentAt');
const ATTEMPT_KEY = encodeCanonical('attempt');

/** The fields of a row's envelope that stay the same on every publish. */
export type EnvelopeFixed = Omit<Envelope, 'sentAt' | 'attempt'>;

/**
 * A row's envelope encoded once, with a gap for the two fields that change per publish
 * (`sentAt`, `attempt`): the bytes before and after them, deterministic CBOR as
 * `encodeCanonical` writes them, in parts (the payload is one of them, not copied until
 * the publish writes the message).
 */
export interface EnvelopeTemplate {
  readonly before: readonly Buffer[];
  readonly after: readonly Buffer[];
}

const ENCODED_KEYS = new Map(ENVELOPE_KEYS.map((key) => [key, encodeCanonical(key)]));

/**
 * The pairs of `keys` in order, as `encodeCanonical` of the map would write them: text and
 * byte strings written directly (the payload is not walked by the general encoder, and is
 * copied only when the message is written), anything else (routing) by `encodeCanonical`.
 */
function pairsOf(fields: EnvelopeFixed, keys: readonly (keyof Envelope)[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const key of keys) {
    parts.push(ENCODED_KEYS.get(key)!);
    const value: unknown = fields[key as keyof EnvelopeFixed];
    if (typeof value === 'string') {
      const text = Buffer.from(value, 'utf8');
      parts.push(head(3, text.byteLength), text);
    } else if (value instanceof Uint8Array) {
      parts.push(head(2, value.byteLength), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    } else {
      parts.push(encodeCanonical(value));
    }
  }
  return parts;
}

export function envelopeTemplate(fields: EnvelopeFixed): EnvelopeTemplate {
  return { before: [MAP_HEAD, ...pairsOf(fields, KEYS_BEFORE)], after: pairsOf(fields, KEYS_AFTER) };
}

/** An unsigned integer in its shortest form (sentAt, attempt: non-negative safe integers). */
function uintBytes(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) return encodeCanonical(n);
  if (n < 24) return Buffer.of(n);
  if (n < 0x100) return Buffer.of(24, n);
  if (n < 0x10000) return Buffer.of(25, n >> 8, n & 0xff);
  if (n < 0x1_0000_0000) {
    const b = Buffer.alloc(5);
    b[0] = 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 27;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

/** One publish's envelope from the row's template: byte for byte `encodeCanonical(envelope)`. */
export function encodeFromTemplate(template: EnvelopeTemplate, sentAt: number, attempt: number): Buffer {
  return Buffer.concat(partsFromTemplate(template, sentAt, attempt));
}

function partsFromTemplate(template: EnvelopeTemplate, sentAt: number, attempt: number): Buffer[] {
  return [
    ...template.before,
    SENT_AT_KEY,
    uintBytes(sentAt),
    ATTEMPT_KEY,
    uintBytes(attempt),
    ...template.after,
  ];
}

/**
 * The envelope as deterministic CBOR, byte for byte `encodeCanonical(envelope)`
 * (test/exchange-wire/protocol.test.ts checks both agree).
 */
export function encodeEnvelope(envelope: Envelope): Buffer {
  // Anything but exactly the 13 fields, each set, takes the general path: same bytes as ever.
  if (
    Object.keys(envelope).length !== ENVELOPE_KEYS.length ||
    ENVELOPE_KEYS.some((key) => envelope[key] === undefined)
  ) {
    return encodeCanonical(envelope);
  }
  return encodeFromTemplate(envelopeTemplate(envelope), envelope.sentAt, envelope.attempt);
}

/** Signs one publish's envelope made from the row's template. */
export function sealFromTemplate(
  signer: Ed25519Signer,
  template: EnvelopeTemplate,
  sentAt: number,
  attempt: number,
): Buffer {
  return signBodyParts(signer, CONTENT_TYPES.envelope, partsFromTemplate(template, sentAt, attempt));
}

/** An envelope of version 1.1: `sentAt` and `attempt` in the signed body. */
export function sealEnvelope(signer: Ed25519Signer, envelope: Envelope): Buffer {
  return signBodyParts(signer, CONTENT_TYPES.envelope, [encodeEnvelope(envelope)]);
}

/** Version 1.2: the body has every field but the per-copy ones, in deterministic key order. */
const SEALED_KEYS = ENVELOPE_KEYS.filter((key) => !(PER_PUBLISH as readonly string[]).includes(key));
const SEALED_MAP_HEAD = Buffer.of(0xa0 | SEALED_KEYS.length);
const PAYLOAD_AT = SEALED_KEYS.indexOf('payload');
const PAYLOAD_KEY = encodeCanonical('payload');

/**
 * A message's envelope body signed once (version 1.2, EXCHANGE.md §3): the body around the
 * payload's bytes, and the signature. Every copy of the message — resends included — is
 * these bytes with its own `sentAt` and `attempt` in the unprotected header (`sealedCopy`).
 */
export interface SealedEnvelope {
  kid: string;
  /** The body up to the payload's bytes (its byte-string head included). */
  head: Buffer;
  /** The body after the payload's bytes. */
  tail: Buffer;
  payloadLength: number;
  signature: Uint8Array;
}

/** Signs the version 1.2 body of a message: once per message, not per copy. */
export function sealEnvelopeBody(signer: Ed25519Signer, fields: EnvelopeFixed): SealedEnvelope {
  const { payload } = fields;
  const front = Buffer.concat([
    SEALED_MAP_HEAD,
    ...pairsOf(fields, SEALED_KEYS.slice(0, PAYLOAD_AT)),
    PAYLOAD_KEY,
    head(2, payload.byteLength),
  ]);
  const tail = Buffer.concat(pairsOf(fields, SEALED_KEYS.slice(PAYLOAD_AT + 1)));
  const signature = signParts(envelopeProtectedHeader(signer.kid), [front, payload, tail], (tbs) =>
    signer.sign(tbs),
  );
  return { kid: signer.kid, head: front, tail, payloadLength: payload.byteLength, signature };
}

/** The unprotected header of one copy: `{ "sentAt": uint, "attempt": uint }` (deterministic order). */
function perCopyHeader(sentAt: number, attempt: number): Buffer {
  return Buffer.concat([Buffer.of(0xa2), SENT_AT_KEY, uintBytes(sentAt), ATTEMPT_KEY, uintBytes(attempt)]);
}

/** One copy of a sealed message: no signing, the parts copied once (into `allocate(length)`'s buffer). */
export function sealedCopy(
  sealed: SealedEnvelope,
  payload: Uint8Array,
  sentAt: number,
  attempt: number,
  allocate?: (length: number) => Buffer,
): Buffer {
  if (payload.byteLength !== sealed.payloadLength) {
    throw new RangeError(`payload of ${payload.byteLength} bytes, sealed with ${sealed.payloadLength}`);
  }
  return sign1FromParts(
    envelopeProtectedHeader(sealed.kid),
    perCopyHeader(sentAt, attempt),
    [sealed.head, payload, sealed.tail],
    sealed.signature,
    allocate,
  );
}

/** An envelope of version 1.2 in one step (tests, conformance kit, vectors). */
export function sealEnvelopeCopy(signer: Ed25519Signer, envelope: Envelope): Buffer {
  return sealedCopy(sealEnvelopeBody(signer, envelope), envelope.payload, envelope.sentAt, envelope.attempt);
}

/**
 * Step 1 of EXCHANGE.md §5.3: the COSE_Sign1 within the limits, the body a map within the
 * envelope's limits, and `messageId`, `conversationId`, `payloadSha256` readable.
 * E_SYNC_MALFORMED otherwise: the message is dropped, there is nobody to answer.
 */
export function openEnvelopeHead(bytes: Uint8Array): EnvelopeHead {
  const signed = openSigned(bytes, 'envelope');
  const body = decodeBody(signed, ENVELOPE_LIMITS, 'envelope');
  const r = new FieldReader(body, 'envelope');
  return {
    signed,
    body: body as Map<unknown, unknown>,
    messageId: r.text('messageId', { max: 45, pattern: URN_UUID_PATTERN }),
    conversationId: r.text('conversationId', { max: 45, pattern: URN_UUID_PATTERN }),
    payloadSha256: r.bytes('payloadSha256', 32),
    envelopeSha256: hash('sha256', bytes, 'buffer'),
  };
}

/**
 * The rest of the envelope against EXCHANGE.md §4 (step 4 of §5.3): E_SYNC_MALFORMED names
 * the field, answered with `envelope_malformed`. The content type is the caller's to check.
 */
export function readEnvelope(head: EnvelopeHead): Envelope {
  const r = new FieldReader(head.body, 'envelope');
  const envelope: Envelope = {
    messageId: head.messageId,
    conversationId: head.conversationId,
    procedureId: r.text('procedureId', { max: 45, pattern: URN_UUID_PATTERN }),
    action: r.text('action', { max: 128, pattern: ACTION_PATTERN }),
    kind: r.oneOf('kind', MESSAGE_KINDS),
    from: r.text('from', { max: 256, pattern: ADDRESS_PATTERN }),
    to: r.text('to', { max: 256, pattern: ADDRESS_PATTERN }),
    replyTo: r.text('replyTo', { max: 256, pattern: TOPIC_PATTERN }),
    ...perCopyFields(head.signed, r),
    payloadSha256: head.payloadSha256,
    payload: r.bytes('payload'),
    routing: r.flatMap('routing'),
  };
  if (envelope.attempt < 1) r.fail('attempt', 'must be at least 1');
  return envelope;
}

/** `sentAt` and `attempt`: in the unprotected header (version 1.2) or in the body (1.1), never both. */
function perCopyFields(signed: SignedMessage, body: FieldReader): Pick<Envelope, 'sentAt' | 'attempt'> {
  if (signed.unprotected.size === 0) return { sentAt: body.uint('sentAt'), attempt: body.uint('attempt') };
  for (const key of PER_COPY_HEADERS) {
    if (body.has(key)) body.fail(key, 'is both in the body and in the unprotected header');
  }
  const u = new FieldReader(signed.unprotected, 'envelope unprotected header');
  const attempt = u.uint('attempt');
  if (attempt < 1) u.fail('attempt', 'must be at least 1');
  return { sentAt: u.uint('sentAt'), attempt };
}

/**
 * Decodes a whole envelope of the envelope content type (the gateway's own, tests, fuzz).
 * The signature and the payload hash are the receiver's to check (`verifySigned`,
 * `payloadMatches`).
 */
export function openEnvelope(bytes: Uint8Array): OpenedEnvelope {
  const head = openEnvelopeHead(bytes);
  if (head.signed.contentType !== CONTENT_TYPES.envelope) {
    malformed('envelope', `content type must be "${CONTENT_TYPES.envelope}"`);
  }
  return { envelope: readEnvelope(head), signed: head.signed };
}

/** The payload is the one `payloadSha256` names (the receiver's check, answered by a rejection). */
export function payloadMatches(envelope: Envelope): boolean {
  return hash('sha256', envelope.payload, 'buffer').equals(envelope.payloadSha256);
}
