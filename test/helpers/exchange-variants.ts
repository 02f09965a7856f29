/**
 * Deliberately broken variants of the reference exchange, for testing the conformance kit
 * (test only: production code has no switch for any of this). Each variant is the real
 * reference exchange with one small change made from the outside — a trust store that
 * lets something through, a client that drops or rewrites what passes it (the exchange's
 * `connect` option), a database or session that does not survive a restart — and names the
 * kit requirements it must fail.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { decodeDeterministic, type Tag } from '../../src/cbor/index.js';
import {
  CONTENT_TYPES,
  type Ed25519Signer,
  type EnvelopeHead,
  gatewayAddress,
  gatewayTopic,
  MAX_MESSAGE_BYTES,
  openEnvelopeHead,
  openReceipt,
  parseGatewayTopic,
  RECEIPT_ACTION,
  type ReceiptResult,
  readEnvelope,
  signReceipt,
} from '../../src/exchange-wire/index.js';
import type { SignatureCheck, SignedObject, TrustStore } from '../../src/keys/index.js';
import type { ExchangeOptions } from '../../src/reference-exchange/index.js';

export interface Variant {
  /** The kit requirements (report ids) this variant must fail. */
  breaks: string[];
  /** The kit sections that reach them. */
  sections: ('delivery' | 'rejections' | 'queries' | 'restart')[];
  /** It only shows across a restart: run it as a process (test/helpers/exchange-variant-process.ts). */
  process?: boolean;
}

export const VARIANTS = {
  'no-dedup': { breaks: ['exchange.resend.same-receipt'], sections: ['delivery'] },
  'computed-hash': {
    breaks: ['exchange.reject.declared-hash', 'exchange.receipt.echo'],
    sections: ['rejections'],
  },
  'no-envelope-sha': { breaks: ['exchange.receipt.envelope-sha256'], sections: ['delivery'] },
  'accept-bad-signature': { breaks: ['exchange.reject.bad_signature'], sections: ['rejections'] },
  'accept-unknown-key': { breaks: ['exchange.reject.unknown_key'], sections: ['rejections'] },
  'drop-wrong-content-type': { breaks: ['exchange.reject.content_type_mismatch'], sections: ['rejections'] },
  'lenient-payload': {
    breaks: ['exchange.reject.payload_malformed', 'exchange.reject.payload_cddl'],
    sections: ['rejections'],
  },
  'answers-oversize': { breaks: ['exchange.drop.oversize'], sections: ['rejections'] },
  'v1.1-only': {
    breaks: ['exchange.accept.v1.2', 'exchange.resend.v1.2', 'exchange.reject.per-copy-twice'],
    sections: ['delivery', 'rejections'],
  },
  'silent-queries': {
    breaks: ['exchange.query.document-message', 'exchange.query.updates', 'exchange.query.refused'],
    sections: ['delivery', 'queries'],
  },
  amnesiac: {
    breaks: ['exchange.restart.durable', 'exchange.restart.duplicate'],
    sections: ['restart'],
    process: true,
  },
  'no-session': { breaks: ['exchange.restart.session'], sections: ['restart'], process: true },
} satisfies Record<string, Variant>;

export type VariantName = keyof typeof VARIANTS;

interface Interception {
  /** Sees every message before the exchange does; false drops it. */
  incoming?: (topic: string, bytes: Buffer, client: MqttClient) => boolean;
  /** Sees every publish of the exchange; returns the bytes to send instead, undefined to send nothing. */
  outgoing?: (topic: string, bytes: Buffer) => Buffer | undefined;
}

/** A real mqtt.js client whose messages and publishes pass `hooks` first. */
export function interceptingConnect(hooks: Interception) {
  return (url: string, options: IClientOptions): MqttClient => {
    const client = connect(url, options);
    const publish = client.publish.bind(client) as (...args: unknown[]) => MqttClient;
    client.publish = ((topic: string, message: Buffer, opts?: unknown, cb?: () => void) => {
      const out = hooks.outgoing ? hooks.outgoing(topic, Buffer.from(message)) : message;
      if (out === undefined) {
        cb?.();
        return client;
      }
      return publish(topic, out, opts, cb);
    }) as MqttClient['publish'];
    const on = client.on.bind(client) as (event: string, listener: (...a: unknown[]) => void) => MqttClient;
    client.on = ((event: string, listener: (...a: unknown[]) => void) =>
      event === 'message'
        ? on('message', (topic, payload, packet) => {
            if (!hooks.incoming || hooks.incoming(topic as string, payload as Buffer, client))
              listener(topic, payload, packet);
          })
        : on(event, listener)) as MqttClient['on'];
    return client;
  };
}

/** Re-signs a receipt whose results `change` rewrote (the variant has the exchange key). */
function rewriteReceipts(signer: Ed25519Signer, change: (r: ReceiptResult) => ReceiptResult) {
  return (topic: string, bytes: Buffer): Buffer => {
    if (!topic.endsWith('/receipt')) return bytes;
    const { receipt } = openReceipt(bytes);
    return signReceipt(signer, { ...receipt, results: receipt.results.map(change) });
  };
}

/** A view of `trust` whose gateway-key checks `override` may overrule. */
function lenientTrust(
  trust: TrustStore,
  override: (o: SignedObject, check: SignatureCheck) => SignatureCheck,
) {
  return new Proxy(trust, {
    get(target, prop) {
      if (prop === 'verify') return (o: SignedObject) => override(o, target.verify(o));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const envelopeLevel = (topic: string) => {
  const level = parseGatewayTopic(topic)?.level;
  return level !== undefined && !['query', 'status'].includes(level);
};

/** Drops the envelopes `keep` refuses before the exchange sees them (unreadable ones pass: it drops those itself). */
function keepEnvelopes(base: ExchangeOptions, keep: (head: EnvelopeHead) => boolean): ExchangeOptions {
  return {
    ...base,
    connect: interceptingConnect({
      incoming: (topic, bytes) => {
        if (!envelopeLevel(topic)) return true;
        try {
          return keep(openEnvelopeHead(bytes));
        } catch {
          return true;
        }
      },
    }),
  };
}

/** The reference exchange's options, broken as `name` says. */
export function variantOptions(
  name: VariantName,
  base: ExchangeOptions,
  signer: Ed25519Signer,
): ExchangeOptions {
  switch (name) {
    case 'no-dedup':
      return {
        ...base,
        connect: interceptingConnect({
          outgoing: rewriteReceipts(signer, (r) =>
            r.duplicate ? { ...r, duplicate: false, receivedAt: Date.now() } : r,
          ),
        }),
      };
    case 'computed-hash': {
      const computed = new Map<string, Buffer>();
      return {
        ...base,
        connect: interceptingConnect({
          incoming: (topic, bytes) => {
            try {
              if (envelopeLevel(topic)) {
                const envelope = readEnvelope(openEnvelopeHead(bytes));
                computed.set(envelope.messageId, createHash('sha256').update(envelope.payload).digest());
              }
            } catch {
              // not readable: the exchange drops it anyway
            }
            return true;
          },
          outgoing: rewriteReceipts(signer, (r) =>
            r.reason === 'payload_hash_mismatch'
              ? { ...r, payloadSha256: computed.get(r.messageId) ?? r.payloadSha256 }
              : r,
          ),
        }),
      };
    }
    case 'no-envelope-sha':
      return {
        ...base,
        connect: interceptingConnect({
          outgoing: rewriteReceipts(signer, ({ envelopeSha256: _dropped, ...r }) => r),
        }),
      };
    case 'accept-bad-signature':
      return {
        ...base,
        trust: lenientTrust(base.trust, (o, check) =>
          o.role === 'gateway' && check.status === 'bad_signature'
            ? { status: 'valid', ...(check.key ? { key: check.key } : {}) }
            : check,
        ),
      };
    case 'accept-unknown-key':
      return {
        ...base,
        trust: lenientTrust(base.trust, (o, check) =>
          o.role === 'gateway' && check.status === 'unknown_signer' ? { status: 'valid' } : check,
        ),
      };
    case 'drop-wrong-content-type':
      return keepEnvelopes(base, (head) => head.signed.contentType === CONTENT_TYPES.envelope);
    case 'lenient-payload':
      return {
        ...base,
        connect: interceptingConnect({
          outgoing: rewriteReceipts(signer, ({ reason, detail: _d, ...r }) =>
            reason === 'payload_malformed'
              ? { ...r, status: 'accepted' }
              : { ...r, ...(reason ? { reason } : {}) },
          ),
        }),
      };
    case 'answers-oversize':
      // Reads past the 1 MiB limit and accepts what it finds, instead of dropping it unread.
      return {
        ...base,
        connect: interceptingConnect({
          incoming: (topic, bytes, client) => {
            if (!envelopeLevel(topic) || bytes.byteLength <= MAX_MESSAGE_BYTES) return true;
            const outer = decodeDeterministic(bytes, { maxDepth: 3, allowedTags: [18] }) as Tag;
            const body = decodeDeterministic((outer.value as Uint8Array[])[2]!) as Map<string, unknown>;
            const gateway = parseGatewayTopic(topic)!;
            const now = Date.now();
            const receipt = signReceipt(signer, {
              action: RECEIPT_ACTION,
              from: base.address ?? 'CTOP://KZ/EXCHANGE',
              to: gatewayAddress(gateway),
              issuedAt: now,
              results: [
                {
                  messageId: body.get('messageId') as string,
                  conversationId: body.get('conversationId') as string,
                  payloadSha256: body.get('payloadSha256') as Uint8Array,
                  envelopeSha256: createHash('sha256').update(bytes).digest(),
                  status: 'accepted',
                  receivedAt: now,
                  duplicate: false,
                },
              ],
            });
            client.publish(gatewayTopic(gateway, 'receipt'), receipt, { qos: 1 });
            return false;
          },
        }),
      };
    case 'v1.1-only':
      // Built to version 1.1: any unprotected header parameter is unknown, the message dropped.
      return keepEnvelopes(base, (head) => head.signed.unprotected.size === 0);
    case 'silent-queries':
      return {
        ...base,
        connect: interceptingConnect({ incoming: (topic) => !topic.endsWith('/query') }),
      };
    case 'amnesiac':
      // A store that does not survive the process: a fresh database at every start.
      return {
        ...base,
        dbPath: path.join(mkdtempSync(path.join(os.tmpdir(), 'ctop-amnesiac-')), 'exchange.db'),
      };
    case 'no-session':
      // A client id of its own at every start: the broker never keeps a session for it.
      return { ...base, clientId: `ctop-exchange-${process.pid}-${Date.now()}` };
  }
}
