import { type ErrorCode, isCtopError } from '../errors.js';
import type { TrustStore } from '../keys/index.js';
import type { OutboxEntry, OutboxKind, Store } from '../store/index.js';
import type { InFlightRegistry } from './in-flight.js';
import { type ReceiptResult, verifyReceipt } from './protocol/index.js';
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
  stats: StatsBuffer;
  now: number;
}

/**
 * Acts on the receipts that arrived together: each is verified (exchange key, validity at
 * its issue time), addressed to this gateway, and each result must name a message of ours
 * by id *and* content hash. Only then is the row acknowledged or quarantined — all rows
 * in one transaction. Anything else is ignored and reported, never acted on.
 */
export function settleReceipts(batch: readonly Uint8Array[], ctx: ReceiptContext): ReceiptOutcome {
  const ignored: IgnoredReceipt[] = [];
  const results: { bytes: Uint8Array; result: ReceiptResult }[] = [];
  let verified = 0;
  for (const bytes of batch) {
    try {
      const { receipt } = verifyReceipt(bytes, ctx.trust);
      verified++;
      if (receipt.to !== ctx.address) {
        ignored.push({
          code: 'E_SYNC_RECEIPT_MISMATCH',
          message: `receipt addressed to ${receipt.to}, not to this gateway (${ctx.address})`,
        });
        continue;
      }
      for (const result of receipt.results) results.push({ bytes, result });
    } catch (err) {
      if (!isCtopError(err)) throw err;
      ignored.push({ code: err.code, message: err.message });
    }
  }
  if (results.length === 0) return { settled: [], ignored, verified };

  const settled: SettledReceipt[] = [];
  transactWithStats(ctx.store, ctx.stats, () => {
    for (const { bytes, result } of results) {
      const entry = ctx.inFlight.get(result.messageId);
      const row: OutboxEntry | undefined = entry?.row ?? ctx.store.outbox.findByMessageId(result.messageId);
      if (!row) {
        ignored.push({
          code: 'E_SYNC_RECEIPT_MISMATCH',
          message: `receipt for ${result.messageId}, which this gateway never sent`,
          messageId: result.messageId,
        });
        continue;
      }
      if (!row.payloadSha256.equals(result.payloadSha256)) {
        ignored.push({
          code: 'E_SYNC_RECEIPT_MISMATCH',
          message: `receipt for ${result.messageId} names other content than outbox row ${row.id}`,
          messageId: result.messageId,
        });
        continue;
      }
      const receipt = {
        bytes,
        status: result.status,
        ...(result.reason === undefined ? {} : { reasonCode: result.reason }),
        at: ctx.now,
      };
      let changed: boolean;
      try {
        changed =
          result.status === 'accepted'
            ? ctx.store.outbox.acknowledge(row.id, receipt)
            : ctx.store.outbox.reject(row.id, receipt);
      } catch (err) {
        // e.g. an accepted receipt for a row quarantined by an earlier rejection: the operator decides (requeue).
        if (!isCtopError(err, 'E_STORE_OUTBOX_STATE')) throw err;
        ignored.push({ code: err.code, message: err.message, messageId: result.messageId });
        continue;
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
      });
    }
  });
  // Counted once committed; written with the next transaction.
  for (const s of settled) {
    if (s.changed)
      ctx.stats.add(ctx.now, s.status === 'accepted' ? { receiptsAccepted: 1 } : { receiptsRejected: 1 });
  }
  return { settled, ignored, verified };
}
