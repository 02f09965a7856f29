import { assertDeterministic } from '../cbor/index.js';
import { type CtopError, isCtopError } from '../errors.js';
import {
  decodeOutageReport,
  deriveMessageId,
  type Envelope,
  gatewayAddress,
  gatewayTopic,
  kidBelongsTo,
  kindOfTopic,
  type OutageReport,
  openEnvelope,
  type ParsedTopic,
  payloadMatches,
  toBeSigned,
  verifySigned,
} from '../exchange-wire/index.js';
import type { TrustStore } from '../keys/index.js';
import { inspectManifest } from '../manifest/index.js';

/** What the exchange concluded about one message on a gateway topic. */
export type Verdict =
  /** Not even a messageId could be read: nobody to answer. */
  | { outcome: 'unreadable'; error: CtopError }
  | { outcome: 'rejected'; envelope: Envelope; reason: RejectionReason; detail: string }
  | {
      outcome: 'accepted';
      envelope: Envelope;
      kid: string;
      /** Manifests: the exchange's verification of the customs signature. */
      verification?: string;
      manifestId?: string;
      container?: string;
      lockId?: string;
      outage?: OutageReport;
    };

/** Reason codes of rejected receipts (EXCHANGE.md §5.2). */
export type RejectionReason =
  | 'address_mismatch'
  | 'kind_mismatch'
  | 'unknown_key'
  | 'bad_signature'
  | 'key_expired'
  | 'key_revoked'
  | 'key_mismatch'
  | 'payload_hash_mismatch'
  | 'message_id_mismatch'
  | 'payload_malformed'
  | 'manifest_unknown_signer'
  | 'manifest_bad_signature'
  | 'manifest_expired'
  | 'manifest_revoked'
  | 'manifest_malformed';

export const REJECTION_REASONS: readonly RejectionReason[] = [
  'address_mismatch',
  'kind_mismatch',
  'unknown_key',
  'bad_signature',
  'key_expired',
  'key_revoked',
  'key_mismatch',
  'payload_hash_mismatch',
  'message_id_mismatch',
  'payload_malformed',
  'manifest_unknown_signer',
  'manifest_bad_signature',
  'manifest_expired',
  'manifest_revoked',
  'manifest_malformed',
];

export const KEY_REASONS = {
  unknown_signer: 'unknown_key',
  bad_signature: 'bad_signature',
  expired: 'key_expired',
  revoked: 'key_revoked',
  malformed: 'bad_signature',
} as const;

export interface JudgeContext {
  /** The exchange's address: envelopes must be addressed to it. */
  address: string;
  /** Gateway keys (role gateway) and customs signer keys, as a fast-verifying view. */
  trust: TrustStore;
  now: number;
}

/**
 * Checks an envelope in the order an operator would want the reason: addressing, the
 * gateway's signature and key binding, the payload hash and messageId, then the content
 * (a manifest's customs signature, an outage report's fields). The content checks are
 * skipped for a message `acceptedBefore` names (a resend: the messageId,
 * checked against the content, proves it is the same content).
 */
export function judgeEnvelope(
  bytes: Uint8Array,
  topic: ParsedTopic,
  ctx: JudgeContext,
  acceptedBefore: (messageId: string) => boolean = () => false,
): Verdict {
  let opened: ReturnType<typeof openEnvelope>;
  try {
    opened = openEnvelope(bytes);
  } catch (err) {
    if (!isCtopError(err)) throw err;
    return { outcome: 'unreadable', error: err };
  }
  const { envelope, signed } = opened;
  const reject = (reason: RejectionReason, detail: string): Verdict => ({
    outcome: 'rejected',
    envelope,
    reason,
    detail,
  });

  const sender = gatewayAddress(topic);
  if (envelope.from !== sender)
    return reject('address_mismatch', `from ${envelope.from} on the topic of ${sender}`);
  const receiptTopic = gatewayTopic(topic, 'receipt');
  if (envelope.replyTo !== receiptTopic)
    return reject('address_mismatch', `replyTo ${envelope.replyTo}, not the sender's ${receiptTopic}`);
  if (envelope.to !== ctx.address)
    return reject('address_mismatch', `addressed to ${envelope.to}, not ${ctx.address}`);
  if (kindOfTopic(topic.level) !== envelope.kind)
    return reject('kind_mismatch', `a ${envelope.kind} on topic ${topic.level}`);

  // Validity at reception, not at the sender's claimed time: a revoked key cannot backdate.
  const check = verifySigned(ctx.trust, {
    kid: signed.kid,
    role: 'gateway',
    message: toBeSigned(signed),
    signature: signed.signature,
    signedAt: ctx.now,
  });
  if (check.status !== 'valid') return reject(KEY_REASONS[check.status], check.detail ?? check.status);
  if (!kidBelongsTo(signed.kid, topic.gatewayId)) {
    return reject('key_mismatch', `key ${signed.kid} does not belong to gateway ${topic.gatewayId}`);
  }
  if (!payloadMatches(envelope))
    return reject('payload_hash_mismatch', 'payloadSha256 does not match the payload');
  const expected = deriveMessageId(envelope.from, envelope.kind, envelope.payloadSha256);
  if (envelope.messageId !== expected)
    return reject('message_id_mismatch', `messageId should be ${expected}`);

  const accepted = { outcome: 'accepted' as const, envelope, kid: signed.kid };
  const lockId = typeof envelope.routing.lockId === 'string' ? envelope.routing.lockId : undefined;
  if (acceptedBefore(envelope.messageId)) return accepted;
  switch (envelope.kind) {
    case 'manifest':
      return judgeManifest(envelope, ctx, accepted, reject);
    case 'outage': {
      let outage: OutageReport;
      try {
        outage = decodeOutageReport(envelope.payload);
      } catch (err) {
        if (!isCtopError(err)) throw err;
        return reject('payload_malformed', err.message);
      }
      if (outage.gateway !== envelope.from)
        return reject('payload_malformed', `outage report of ${outage.gateway}`);
      return { ...accepted, outage };
    }
    default:
      try {
        assertDeterministic(
          envelope.payload,
          { maxTextBytes: 64 * 1024, maxMapSize: 1024, maxArrayLength: 100_000 },
          {
            malformed: 'E_SYNC_MALFORMED',
            nonCanonical: 'E_SYNC_MALFORMED',
            limit: 'E_SYNC_MALFORMED',
          },
        );
      } catch (err) {
        if (!isCtopError(err)) throw err;
        return reject('payload_malformed', `${envelope.kind} payload: ${err.message}`);
      }
      return { ...accepted, ...(lockId === undefined ? {} : { lockId }) };
  }
}

/**
 * A manifest the exchange can verify is accepted. One it cannot is accepted only as the
 * evidence the gateway says it is (routing.verification not valid — a tamper report);
 * a gateway that calls it valid when the exchange does not gets a rejection, so the
 * disagreement (trust stores out of step, a forged key) is seen on both sides.
 */
function judgeManifest(
  envelope: Envelope,
  ctx: JudgeContext,
  accepted: { outcome: 'accepted'; envelope: Envelope; kid: string },
  reject: (reason: RejectionReason, detail: string) => Verdict,
): Verdict {
  const inspection = inspectManifest(envelope.payload, ctx.trust, { now: ctx.now });
  const claimed = envelope.routing.manifestId;
  if (typeof claimed === 'string' && claimed !== inspection.manifestId) {
    return reject(
      'payload_malformed',
      `routing names manifest ${claimed}, the payload is ${inspection.manifestId}`,
    );
  }
  const status = inspection.verification.status;
  const gatewaySays = envelope.routing.verification;
  if (status !== 'valid' && (gatewaySays === 'valid' || gatewaySays === undefined)) {
    return reject(`manifest_${status}`, inspection.verification.detail ?? status);
  }
  const lockId =
    inspection.routing?.lockId ??
    (typeof envelope.routing.lockId === 'string' ? envelope.routing.lockId : undefined);
  return {
    ...accepted,
    verification: status,
    manifestId: inspection.manifestId,
    ...(inspection.routing?.container ? { container: inspection.routing.container } : {}),
    ...(lockId === undefined ? {} : { lockId }),
  };
}
