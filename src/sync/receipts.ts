import { CtopError, type ErrorCode, isCtopError } from '../errors.js';
import { isAuthenticatedReason, type ReceiptResult, verifyReceipt } from '../exchange-wire/index.js';
import type { TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import type { OutboxEntry, OutboxKind, Store } from '../store/index.js';
import type { SyncEventMap } from './events.js';
import type { InFlight, InFlightRegistry } from './in-flight.js';
import type { PublishedCopies } from './published-copies.js';
import { type StatsBuffer, transactWithStats } from './store-tx.js';

export interface SettledReceipt {
  outboxId: number;
  messageId: string;
  kind: OutboxKind;
  status: 'accepted' | 'rejected';
  reason?: string;
  detail?: string;
  duplicate: boolean;
  /** From the latest publish to the receipt, when the message was in flight here. */
  latencyMs?: number;
  /** false: the row had been settled by an earlier copy of this receipt. */
  changed: boolean;
  /** A rejection settled by messageId although it names another payloadSha256 (EXCHANGE.md §5.1). */
  otherHash?: string;
}

export interface IgnoredReceipt {
  code: ErrorCode;
  message: string;
  messageId?: string;
}

export interface ReceiptOutcome {
  settled: SettledReceipt[];
  ignored: IgnoredReceipt[];
  /** Receipts whose signature verified: proof that the exchange answers. */
  verified: number;
}

export interface ReceiptContext {
  store: Store;
  trust: TrustStore;
  /** This gateway's address: receipts for another are not ours. */
  address: string;
  inFlight: InFlightRegistry;
  /** The copies this gateway published: what an unauthenticated rejection must name. */
  copies: PublishedCopies;
  stats: StatsBuffer;
  /** Reception time: the exchange key must be valid and not revoked now (EXCHANGE.md §3). */
  now: number;
}

/**
 * Acts on the receipts that arrived together (EXCHANGE.md §5.1): each is verified (an
 * exchange key valid at reception) and addressed to this gateway, and each result must name
 * a message of ours. An acceptance must also name its content hash. A rejection settles by
 * messageId when its reason is authenticated (decided after our signature verified), else
 * only when it answers a copy we published (`envelopeSha256`) — a copy with a broken
 * signature that someone else put on our topic quarantines nothing. Settled rows are
 * acknowledged or quarantined in one transaction; anything else is ignored and reported.
 */
export function settleReceipts(batch: readonly Uint8Array[], ctx: ReceiptContext): ReceiptOutcome {
  const ignored: IgnoredReceipt[] = [];
  const answers: { bytes: Uint8Array; results: readonly ReceiptResult[] }[] = [];
  let verified = 0;
  for (const bytes of batch) {
    try {
      const { receipt } = verifyReceipt(bytes, ctx.trust, ctx.now);
      verified++;
      if (receipt.to !== ctx.address) {
        ignored.push({
          code: 'E_SYNC_RECEIPT_MISMATCH',
          message: `receipt addressed to ${receipt.to}, not to this gateway (${ctx.address})`,
        });
        continue;
      }
      if (receipt.results.length > 0) answers.push({ bytes, results: receipt.results });
    } catch (err) {
      if (!isCtopError(err)) throw err;
      ignored.push({ code: err.code, message: err.message });
    }
  }
  if (answers.length === 0) return { settled: [], ignored, verified };

  const settled: SettledReceipt[] = [];
  // The loop lives in a function of its own, not in this closure: V8 optimised the loop of
  // new closures again (20–70 ms of a compiler thread each time, once or twice a drain).
  transactWithStats(ctx.store, ctx.stats, () => settleAnswers(answers, ctx, settled, ignored));
  // Counted once committed; written with the next transaction.
  for (const s of settled) {
    if (s.changed)
      ctx.stats.add(ctx.now, s.status === 'accepted' ? { receiptsAccepted: 1 } : { receiptsRejected: 1 });
  }
  return { settled, ignored, verified };
}

/** Settles the rows each receipt answers (inside the caller's transaction). */
function settleAnswers(
  answers: readonly { bytes: Uint8Array; results: readonly ReceiptResult[] }[],
  ctx: ReceiptContext,
  settled: SettledReceipt[],
  ignored: IgnoredReceipt[],
): void {
  // Each receipt's rows settled together: one set of statements per receipt, not per row.
  for (const { bytes, results } of answers) {
    const settling: {
      result: ReceiptResult;
      row: OutboxEntry;
      entry: InFlight | undefined;
      sameContent: boolean;
    }[] = [];
    for (const result of results) {
      const entry = ctx.inFlight.get(result.messageId);
      const row = entry?.row ?? ctx.store.outbox.findByMessageId(result.messageId);
      if (!row) {
        ignored.push({
          code: 'E_SYNC_RECEIPT_MISMATCH',
          message: `receipt for ${result.messageId}, which this gateway never sent`,
          messageId: result.messageId,
        });
        continue;
      }
      const sameContent = row.payloadSha256.equals(result.payloadSha256);
      const why = unsettled(result, row, sameContent, ctx.copies);
      if (why) ignored.push({ code: 'E_SYNC_RECEIPT_MISMATCH', message: why, messageId: result.messageId });
      else settling.push({ result, row, entry, sameContent });
    }
    if (settling.length === 0) continue;
    const outcomes = ctx.store.outbox.settle(
      { bytes, at: ctx.now },
      settling.map(({ result, row }) => ({
        id: row.id,
        status: result.status,
        ...(result.reason === undefined ? {} : { reasonCode: result.reason }),
      })),
    );
    settling.forEach(({ result, row, entry, sameContent }, i) => {
      const changed = outcomes[i]!;
      if (changed instanceof CtopError) {
        // e.g. an accepted receipt for a row quarantined by an earlier rejection: the operator decides (requeue).
        ignored.push({ code: changed.code, message: changed.message, messageId: result.messageId });
        return;
      }
      settled.push({
        outboxId: row.id,
        messageId: result.messageId,
        kind: row.kind,
        status: result.status,
        ...(result.reason === undefined ? {} : { reason: result.reason }),
        ...(result.detail === undefined ? {} : { detail: result.detail }),
        duplicate: result.duplicate,
        ...(entry ? { latencyMs: ctx.now - entry.lastSentAt } : {}),
        changed,
        ...(sameContent ? {} : { otherHash: Buffer.from(result.payloadSha256).toString('hex') }),
      });
    });
  }
}

/** Why a result that names a row of ours must not settle it; undefined when it settles it. */
function unsettled(
  result: ReceiptResult,
  row: OutboxEntry,
  sameContent: boolean,
  copies: PublishedCopies,
): string | undefined {
  if (result.status === 'accepted') {
    return sameContent
      ? undefined
      : `receipt accepts ${result.messageId} with other content than outbox row ${row.id}`;
  }
  const reason = result.reason ?? 'unknown';
  if (isAuthenticatedReason(reason) || copies.has(result.messageId, result.envelopeSha256, row.payload))
    return undefined;
  return (
    `rejection (${reason}) of a copy of ${result.messageId} this gateway does not know as its own ` +
    `(forged or altered on the way): outbox row ${row.id} stays queued`
  );
}

/**
 * Tells the world what a batch of receipts did: settled messages leave the in-flight set,
 * every receipt is an event, rejections (quarantine) and ignored receipts are logged as
 * warnings with their reason.
 */
export function announceReceipts(
  outcome: ReceiptOutcome,
  ctx: {
    log: Logger;
    inFlight: InFlightRegistry;
    copies: PublishedCopies;
    emit: <K extends 'receipt' | 'rejection' | 'receipt-ignored'>(
      event: K,
      payload: SyncEventMap[K][0],
    ) => void;
  },
): void {
  for (const ignored of outcome.ignored) {
    ctx.log.warn({ code: ignored.code, messageId: ignored.messageId }, `receipt ignored: ${ignored.message}`);
    ctx.emit('receipt-ignored', ignored);
  }
  for (const s of outcome.settled) {
    ctx.inFlight.delete(s.messageId);
    ctx.copies.forget(s.messageId);
    if (s.otherHash !== undefined && s.changed) {
      ctx.log.warn(
        { outboxId: s.outboxId, messageId: s.messageId, payloadSha256: s.otherHash },
        `the exchange's rejection of outbox row ${s.outboxId} names another payloadSha256 than the message's; settled by its messageId (EXCHANGE.md §5.1)`,
      );
    }
    ctx.emit('receipt', {
      outboxId: s.outboxId,
      messageId: s.messageId,
      kind: s.kind,
      status: s.status,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      duplicate: s.duplicate,
      ...(s.latencyMs === undefined ? {} : { latencyMs: s.latencyMs }),
      changed: s.changed,
    });
    if (s.status !== 'rejected' || !s.changed) continue;
    ctx.log.warn(
      { outboxId: s.outboxId, messageId: s.messageId, kind: s.kind, reason: s.reason, detail: s.detail },
      `the exchange rejected outbox row ${s.outboxId} (${s.reason}): quarantined`,
    );
    ctx.emit('rejection', {
      outboxId: s.outboxId,
      messageId: s.messageId,
      kind: s.kind,
      reason: s.reason ?? 'unknown',
      ...(s.detail === undefined ? {} : { detail: s.detail }),
    });
  }
}
