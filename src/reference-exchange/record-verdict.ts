import { gatewayAddress, kindOfTopic, type ParsedTopic, type ReceiptResult } from '../exchange-wire/index.js';
import type { Logger } from '../log.js';
import type { ExchangeCounters } from './counters.js';
import type { ExchangeDb } from './db.js';
import type { Verdict } from './judge.js';

type Judged = Exclude<Verdict, { outcome: 'unreadable' }>;
type Accepted = Extract<Verdict, { outcome: 'accepted' }>;

/**
 * Records a verdict on one envelope in the exchange's database, inside the batch's
 * transaction (EXCHANGE.md §8: the caller commits before any receipt goes out); returns the
 * receipt result — the declared ids and hash, the copy's envelopeSha256 — or undefined when
 * nobody can be answered. `mayBeStored` false: the caller knows the messageId is not stored
 * (the judge looked it up, and this batch has not stored it since), so no second look.
 */
export function recordVerdict(
  db: ExchangeDb,
  verdict: Verdict,
  topic: ParsedTopic,
  bytes: Buffer,
  now: number,
  stats: ExchangeCounters,
  log: Logger,
  mayBeStored = true,
): ReceiptResult | undefined {
  if (verdict.outcome === 'unreadable') {
    stats.unreadable++;
    log.warn({ code: verdict.error.code }, `unreadable message dropped: ${verdict.error.message}`);
    return undefined;
  }
  if (verdict.outcome === 'rejected') return recordRejection(db, verdict, topic, now, stats, log);
  const known = mayBeStored ? db.get(verdict.envelope.messageId) : undefined;
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

/** What every result names: the declared ids and hash (right or wrong) and the copy answered. */
function receiptBase(verdict: Judged) {
  const h = verdict.head;
  return {
    messageId: h.messageId,
    conversationId: h.conversationId,
    payloadSha256: h.payloadSha256,
    envelopeSha256: h.envelopeSha256,
  };
}

function recordRejection(
  db: ExchangeDb,
  verdict: Extract<Verdict, { outcome: 'rejected' }>,
  topic: ParsedTopic,
  now: number,
  stats: ExchangeCounters,
  log: Logger,
): ReceiptResult {
  // A rejected envelope may not have been read past its head: sender and kind come from the topic.
  const h = verdict.head;
  const sender = gatewayAddress(topic);
  stats.rejected++;
  db.recordRejection({
    messageId: h.messageId,
    sender,
    kind: kindOfTopic(topic.level) ?? topic.level,
    receivedAt: now,
    reason: verdict.reason,
    detail: verdict.detail,
    payloadSha256: h.payloadSha256,
  });
  log.warn({ messageId: h.messageId, from: sender, reason: verdict.reason }, `rejected: ${verdict.detail}`);
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
