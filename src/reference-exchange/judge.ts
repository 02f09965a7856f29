import { type CtopError, isCtopError } from '../errors.js';
import {
  CONTENT_TYPES,
  decodeAlert,
  decodeLockEvents,
  decodeOutageReport,
  decodePairingRecord,
  deriveMessageId,
  type Envelope,
  type EnvelopeHead,
  gatewayAddress,
  gatewayTopic,
  KIND_ACTIONS,
  kidBelongsTo,
  kindOfTopic,
  type OutageReport,
  openEnvelopeHead,
  type ParsedTopic,
  payloadMatches,
  REJECTION_REASONS,
  type RejectionReason,
  readEnvelope,
  toBeSigned,
  verifySigned,
} from '../exchange-wire/index.js';
import type { TrustStore } from '../keys/index.js';
import { inspectManifest } from '../manifest/index.js';

/** What the exchange concluded about one message on a gateway topic. */
export type Verdict =
  /** §5.3 step 1 failed: not even what a result needs could be read. Dropped. */
  | { outcome: 'unreadable'; error: CtopError }
  | { outcome: 'rejected'; head: EnvelopeHead; reason: RejectionReason; detail: string }
  | {
      outcome: 'accepted';
      head: EnvelopeHead;
      envelope: Envelope;
      kid: string;
      /** Manifests: the exchange's verification of the customs signature. */
      verification?: string;
      manifestId?: string;
      container?: string;
      lockId?: string;
      outage?: OutageReport;
    };

export { REJECTION_REASONS, type RejectionReason };

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
  /** Gateway keys (role gateway) and customs signer keys. */
  trust: TrustStore;
  /** Reception time: gateway keys are judged at it (EXCHANGE.md §3). */
  now: number;
}

type Accepted = Extract<Verdict, { outcome: 'accepted' }>;
type Reject = (reason: RejectionReason, detail: string) => Verdict;

/**
 * The steps of EXCHANGE.md §5.3, in order; the first that fails decides. Step 1 reads what
 * a result needs or the message is dropped; step 2 (the key) is the only one whose
 * rejection is not authenticated; the payload checks of step 9 are skipped for a message
 * `acceptedBefore` names (a resend: step 7 proved it is the same content).
 */
export function judgeEnvelope(
  bytes: Uint8Array,
  topic: ParsedTopic,
  ctx: JudgeContext,
  acceptedBefore: (messageId: string) => boolean = () => false,
): Verdict {
  const head = openForJudging(bytes);
  return 'outcome' in head ? head : judgeOpened(head, topic, ctx, acceptedBefore);
}

/** Step 1: what a result needs, or the verdict `unreadable` (dropped unanswered). */
export function openForJudging(
  bytes: Uint8Array,
): EnvelopeHead | Extract<Verdict, { outcome: 'unreadable' }> {
  try {
    return openEnvelopeHead(bytes);
  } catch (err) {
    if (!isCtopError(err)) throw err;
    return { outcome: 'unreadable', error: err };
  }
}

/** Steps 2 to 9 of a message step 1 opened. */
export function judgeOpened(
  head: EnvelopeHead,
  topic: ParsedTopic,
  ctx: JudgeContext,
  acceptedBefore: (messageId: string) => boolean = () => false,
): Verdict {
  const reject: Reject = (reason, detail) => ({ outcome: 'rejected', head, reason, detail });
  const { signed } = head;
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
  if (signed.contentType !== CONTENT_TYPES.envelope)
    return reject('content_type_mismatch', `content type ${signed.contentType.slice(0, 64)}`);
  let envelope: Envelope;
  try {
    envelope = readEnvelope(head);
  } catch (err) {
    if (!isCtopError(err)) throw err;
    return reject('envelope_malformed', err.message);
  }
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
  if (envelope.action !== KIND_ACTIONS[envelope.kind])
    return reject('kind_mismatch', `action ${envelope.action} for a ${envelope.kind}`);
  if (!payloadMatches(envelope))
    return reject('payload_hash_mismatch', 'payloadSha256 does not match the payload');
  const expected = deriveMessageId(envelope.from, envelope.kind, envelope.payloadSha256);
  if (envelope.messageId !== expected)
    return reject('message_id_mismatch', `messageId should be ${expected}`);

  const accepted: Accepted = { outcome: 'accepted', head, envelope, kid: signed.kid };
  if (acceptedBefore(envelope.messageId)) return accepted;
  return envelope.kind === 'manifest'
    ? judgeManifest(envelope, ctx, accepted, reject)
    : judgePayload(envelope, accepted, reject);
}

/** §4.3: a payload other than a manifest, against its kind's CDDL; what it names is indexed. */
function judgePayload(envelope: Envelope, accepted: Accepted, reject: Reject): Verdict {
  try {
    switch (envelope.kind) {
      case 'outage': {
        const outage = decodeOutageReport(envelope.payload);
        if (outage.gateway !== envelope.from)
          return reject('payload_malformed', `outage report of ${outage.gateway}`);
        return { ...accepted, outage };
      }
      case 'pairing': {
        const p = decodePairingRecord(envelope.payload);
        return { ...accepted, lockId: p.lockId, container: p.container, manifestId: p.manifestId };
      }
      case 'lock_events':
        return { ...accepted, lockId: decodeLockEvents(envelope.payload).lockId };
      default: {
        const a = decodeAlert(envelope.payload);
        return {
          ...accepted,
          ...(a.lockId === undefined ? {} : { lockId: a.lockId }),
          ...(a.manifestId === undefined ? {} : { manifestId: a.manifestId }),
        };
      }
    }
  } catch (err) {
    if (!isCtopError(err)) throw err;
    return reject('payload_malformed', err.message);
  }
}

/**
 * A manifest the exchange can verify is accepted. One it cannot is accepted only as the
 * evidence the gateway says it is (routing.verification not valid — a tamper report);
 * a gateway that calls it valid when the exchange does not gets a rejection, so the
 * disagreement (trust stores out of step, a forged key) is seen on both sides.
 */
function judgeManifest(envelope: Envelope, ctx: JudgeContext, accepted: Accepted, reject: Reject): Verdict {
  // payloadSha256 was checked against the payload (§5.3): it is the manifest id's hash.
  const inspection = inspectManifest(envelope.payload, ctx.trust, {
    now: ctx.now,
    sha256: envelope.payloadSha256,
  });
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
