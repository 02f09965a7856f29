import type { ReceiptResult } from '../exchange-wire/index.js';
import type { Logger } from '../log.js';
import type { ExchangeCounters } from './counters.js';
import type { ExchangeDb } from './db.js';
import type { Verdict } from './judge.js';

type Judged = Exclude<Verdict, { outcome: 'unreadable' }>;
type Accepted = Extract<Verdict, { outcome: 'accepted' }>;

/**
 * Records a verdict on one envelope in the exchange's database (inside the batch's
 * transaction); returns the receipt result, or undefined when nobody can be answered.
 */
export function recordVerdict(
  db: ExchangeDb,
  verdict: Verdict,
  bytes: Buffer,
  now: number,
  stats: ExchangeCounters,
  log: Logger,
): ReceiptResult | undefined {
  if (verdict.outcome === 'unreadable') {
    stats.unreadable++;
    log.warn({ code: verdict.error.code }, `unreadable message dropped: ${verdict.error.message}`);
    return undefined;
  }
  if (verdict.outcome === 'rejected') return recordRejection(db, verdict, now, stats, log);
  const known = db.get(verdict.envelope.messageId);
  if (known) {
    // The messageId is a hash of sender, kind and payload hash (checked): same id, same content.
    stats.duplicates++;
    db.countDuplicate(verdict.envelope.messageId, now);
    return {
      ...receiptBase(verdict),
      status: 'accepted',
      receivedAt: known.receivedAt,
      duplicate: true,
      ...(known.verification === undefined ? {} : { verification: known.verification }),
    };
  }
  return recordAccepted(db, verdict, bytes, now, stats, log);
}

function receiptBase(verdict: Judged) {
  const e = verdict.envelope;
  return { messageId: e.messageId, conversationId: e.conversationId, payloadSha256: e.payloadSha256 };
}

function recordRejection(
  db: ExchangeDb,
  verdict: Extract<Verdict, { outcome: 'rejected' }>,
  now: number,
  stats: ExchangeCounters,
  log: Logger,
): ReceiptResult {
  const e = verdict.envelope;
  stats.rejected++;
  db.recordRejection({
    messageId: e.messageId,
    sender: e.from,
    kind: e.kind,
    receivedAt: now,
    reason: verdict.reason,
    detail: verdict.detail,
    payloadSha256: e.payloadSha256,
  });
  log.warn({ messageId: e.messageId, from: e.from, reason: verdict.reason }, `rejected: ${verdict.detail}`);
  return {
    ...receiptBase(verdict),
    status: 'rejected',
    reason: verdict.reason,
    detail: verdict.detail.slice(0, 500),
    receivedAt: now,
    duplicate: false,
  };
}

function recordAccepted(
  db: ExchangeDb,
  verdict: Accepted,
  bytes: Buffer,
  now: number,
  stats: ExchangeCounters,
  log: Logger,
): ReceiptResult {
  const e = verdict.envelope;
  stats.accepted++;
  db.insert({
    messageId: e.messageId,
    conversationId: e.conversationId,
    procedureId: e.procedureId,
    kind: e.kind,
    sender: e.from,
    gatewayKid: verdict.kid,
    sentAt: e.sentAt,
    receivedAt: now,
    payloadSha256: Buffer.from(e.payloadSha256),
    payloadSize: e.payload.byteLength,
    envelope: bytes,
    ...(verdict.manifestId === undefined ? {} : { manifestId: verdict.manifestId }),
    ...(verdict.container === undefined ? {} : { container: verdict.container }),
    ...(verdict.lockId === undefined ? {} : { lockId: verdict.lockId }),
    ...(verdict.verification === undefined ? {} : { verification: verdict.verification }),
  });
  if (verdict.outage) {
    db.recordOutage({ sender: e.from, messageId: e.messageId, ...verdict.outage });
    log.warn({ from: e.from, ...verdict.outage }, 'gateway reported an outage');
  }
  return {
    ...receiptBase(verdict),
    status: 'accepted',
    receivedAt: now,
    duplicate: false,
    ...(verdict.verification === undefined ? {} : { verification: verdict.verification }),
  };
}
