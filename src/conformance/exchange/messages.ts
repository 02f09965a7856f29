import { createHash, randomBytes } from 'node:crypto';
import { encodeCanonical } from '../../cbor/index.js';
import {
  type ContentType,
  deriveMessageId,
  Ed25519Signer,
  type Envelope,
  encodeOutageReport,
  type GatewayIdentity,
  type GatewayTopic,
  gatewayAddress,
  gatewayTopic,
  ID_CONTEXTS,
  KIND_ACTIONS,
  KIND_TOPICS,
  type MessageKind,
  nameBasedUuid,
  sealEnvelopeCopy,
  signMessage,
} from '../../exchange-wire/index.js';
import { generateKey, type PrivateKey } from '../../keys/index.js';
import { eventHash, eventSignPayload, ZERO_HASH } from '../../lock/identity.js';
import { containerCheckDigit } from '../../manifest/identifiers/container.js';
import { composeManifest, sealManifest } from '../../manifest/index.js';

/**
 * The messages the exchange conformance kit sends, as a gateway builds them (EXCHANGE.md
 * §4), and the deliberately wrong ones each rejection reason needs. Every run uses fresh
 * content (a run nonce in lock ids, containers and record ids), so a second run against the
 * same exchange is judged anew instead of answered as duplicates.
 */

/** One copy as published: the declared values and the bytes on the wire. */
export interface BuiltMessage {
  level: GatewayTopic;
  /** The envelope as declared (for broken copies, what the body says). */
  envelope: Envelope;
  bytes: Buffer;
  /** SHA-256 of `bytes`: the `envelopeSha256` its result must carry. */
  envelopeSha256: Buffer;
}

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

export interface MessageFactoryOptions {
  gatewayKey: PrivateKey;
  identity: GatewayIdentity;
  exchangeAddress: string;
  /** A customs signer key the exchange trusts (test environments): valid manifests. */
  signerKey?: PrivateKey;
}

export class MessageFactory {
  readonly nonce = randomBytes(4).toString('hex').toUpperCase();
  readonly signer: Ed25519Signer;
  readonly from: string;
  readonly lockId: string;
  readonly container: string;
  readonly #o: MessageFactoryOptions;
  readonly #lock = generateKey('lock', 'conformance-lock');
  #serial = 0;

  constructor(options: MessageFactoryOptions) {
    this.#o = options;
    this.signer = new Ed25519Signer(options.gatewayKey, 'gateway');
    this.from = gatewayAddress(options.identity);
    this.lockId = `SSL-CF-${this.nonce}`;
    const first10 = `CTPU${String(Number.parseInt(this.nonce, 16) % 1_000_000).padStart(6, '0')}`;
    this.container = `${first10}${containerCheckDigit(first10)}`;
  }

  get hasSigner(): boolean {
    return this.#o.signerKey !== undefined;
  }

  /** A unique small number for this run (alert and outage ids). */
  #next(): number {
    return Number.parseInt(this.nonce, 16) * 1000 + ++this.#serial;
  }

  pairing(): Buffer {
    const n = this.#next();
    return encodeCanonical({
      lockId: this.lockId,
      identityKey: Buffer.from(this.#lock.publicKey),
      container: this.container,
      wagon: '42546184',
      manifestId: sha256(Buffer.from(`conformance ${this.nonce} ${n}`)).toString('hex'),
      commitCounter: 2 * n,
      sealCounter: 2 * n + 1,
      sealEvent: sha256(Buffer.from(`seal ${this.nonce} ${n}`)),
      sealedAt: Date.now(),
      carrierKid: 'conformance-carrier',
      gatewayId: this.#o.identity.gatewayId,
    });
  }

  /** Two chained, signed entries of a lock's event log (PROTOCOL.md §7). */
  lockEvents(): Buffer {
    const lockSigner = new Ed25519Signer(this.#lock);
    const time = Math.floor(Date.now() / 1000);
    let prev: Uint8Array = ZERO_HASH;
    const events = [1, 6].map((kind, i) => {
      const fields = { counter: this.#next(), time: time + i, kind, detail: Buffer.alloc(0), prev };
      const hash = eventHash(fields);
      const sig = lockSigner.sign(eventSignPayload(this.lockId, hash));
      prev = hash;
      return [fields.counter, fields.time, fields.kind, fields.detail, fields.prev, sig];
    });
    return encodeCanonical({ lockId: this.lockId, identityKey: Buffer.from(this.#lock.publicKey), events });
  }

  alert(): Buffer {
    return encodeCanonical({
      alertId: this.#next(),
      kind: 'tamper',
      detail: `conformance run ${this.nonce}: not a real alert`,
      raisedAt: Date.now(),
      gatewayId: this.#o.identity.gatewayId,
      lockId: this.lockId,
    });
  }

  outage(gateway = this.from): Buffer {
    const endedAt = Date.now();
    return encodeOutageReport({
      outageId: this.#next(),
      gateway,
      startedAt: endedAt - 60_000,
      endedAt,
      cause: 'broker_unreachable',
      detail: `conformance run ${this.nonce}`,
    });
  }

  /** A manifest signed by `signer` (the trusted one by default; a stranger's for unknown_signer). */
  manifest(signer?: PrivateKey): Buffer {
    const key = signer ?? this.#o.signerKey;
    if (!key) throw new Error('no customs signer key given');
    const { manifest } = composeManifest({
      createdAt: new Date().toISOString(),
      issuingAuthority: 'conformance kit (not a real consignment)',
      lockId: this.lockId,
      container: this.container,
      wagon: '42903518',
      train: '1001',
      departure: 'DOSTYK',
      destination: 'ALASHANKOU',
      departureCountry: 'KZ',
      destinationCountry: 'CN',
      consignor: { name: 'Conformance LLP', address: 'Dostyk', country: 'KZ', id: '070340002316' },
      consignee: { name: 'Conformance Co.', address: 'Alashankou', country: 'CN', id: '91650100MA77L3K20L' },
      document: { type: 'SMGS', number: this.nonce, date: new Date().toISOString().slice(0, 10) },
      goods: [
        {
          name: 'Copper cathodes',
          hs: '7403110000',
          quantity: '24',
          unit: 'TNE',
          grossWeightKg: '24050',
          value: '216000',
          currency: 'USD',
          origin: 'KZ',
        },
      ],
    });
    const recipient = generateKey('recipient', 'conformance-recipient');
    return sealManifest(manifest, { signer: key, recipients: [recipient] });
  }

  /** A stranger's signer key, unknown to every exchange. */
  strangerSigner(): PrivateKey {
    return generateKey('signer', `conformance-signer-${this.nonce.toLowerCase()}`);
  }

  /** The envelope a gateway sends for `payload` (§4), with `over` replacing declared fields. */
  declare(kind: MessageKind, payload: Uint8Array, over: Partial<Envelope> = {}): Envelope {
    const payloadSha256 = over.payloadSha256 ?? sha256(payload);
    const messageId = deriveMessageId(this.from, kind, payloadSha256);
    return {
      messageId,
      conversationId: nameBasedUuid(ID_CONTEXTS.conversation, [this.from, 'message', messageId]),
      procedureId: nameBasedUuid(ID_CONTEXTS.procedure, ['lock', this.lockId]),
      action: KIND_ACTIONS[kind],
      kind,
      from: this.from,
      to: this.#o.exchangeAddress,
      replyTo: gatewayTopic(this.#o.identity, 'receipt'),
      sentAt: Date.now(),
      attempt: 1,
      payloadSha256,
      payload,
      routing: { lockId: this.lockId },
      ...over,
    };
  }

  /** Seals an envelope (or any body) with the gateway key, or `signer`, under `contentType`. */
  seal(
    envelope: Envelope | Record<string, unknown>,
    options: { signer?: Ed25519Signer; contentType?: ContentType; level?: GatewayTopic } = {},
  ): BuiltMessage {
    const e = envelope as Envelope;
    const bytes = signMessage(
      options.signer ?? this.signer,
      options.contentType ?? 'application/ctop-envelope+cbor',
      e,
    );
    return { level: options.level ?? KIND_TOPICS[e.kind], envelope: e, bytes, envelopeSha256: sha256(bytes) };
  }

  /** Version 1.2 (§3): the body signed without `sentAt` and `attempt`, which ride unprotected. */
  sealCopy(envelope: Envelope): BuiltMessage {
    const bytes = sealEnvelopeCopy(this.signer, envelope);
    return { level: KIND_TOPICS[envelope.kind], envelope, bytes, envelopeSha256: sha256(bytes) };
  }

  /** The envelope of a well-formed message of `kind`. */
  message(kind: MessageKind, payload: Uint8Array, routing: Envelope['routing'] = {}): BuiltMessage {
    return this.seal(this.declare(kind, payload, { routing: { lockId: this.lockId, ...routing } }));
  }

  /** The same message published again: same id and payload, new `sentAt`, next attempt (§8). */
  resend(message: BuiltMessage): BuiltMessage {
    return this.seal({ ...message.envelope, sentAt: Date.now(), attempt: message.envelope.attempt + 1 });
  }

  /** `bytes` as they are, published on `level`. */
  raw(level: GatewayTopic, bytes: Buffer, declared: Envelope): BuiltMessage {
    return { level, envelope: declared, bytes, envelopeSha256: sha256(bytes) };
  }
}
