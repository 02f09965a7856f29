import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';
import { emptyObjectArray } from '../empty-object-array.js';
import { CtopError, isCtopError } from '../errors.js';
import {
  CONTENT_TYPES,
  type Ed25519Signer,
  envelopeTemplate,
  type SealedEnvelope,
  sealEnvelopeBody,
  sealedCopy,
  sealFromTemplate,
} from '../exchange-wire/index.js';
import type { Logger } from '../log.js';
import type { OutboxEntry, OutboxKind, Store } from '../store/index.js';
import type { EnvelopeVersion } from './config.js';
import { EnvelopeBuffers } from './envelope-buffers.js';
import type { SyncEventMap } from './events.js';
import type { InFlight, InFlightRegistry } from './in-flight.js';
import {
  type EnvelopeContext,
  type EnvelopeSource,
  envelopeFor,
  messageIdOf,
  payloadOf,
} from './outbox-envelope.js';
import { contextKey, decodeOutboxSeal, encodeOutboxSeal } from './outbox-seal.js';
import type { PublishedCopies } from './published-copies.js';
import { type StatsBuffer, transactWithStats } from './store-tx.js';

export interface OutboxSenderOptions {
  store: Store;
  signer: Ed25519Signer;
  inFlight: InFlightRegistry;
  /** Every copy published is remembered: a rejection of a copy not ours settles nothing. */
  copies: PublishedCopies;
  stats: StatsBuffer;
  envelope: EnvelopeContext;
  envelopeVersion: EnvelopeVersion;
  /** Upstream topic of each kind. */
  topics: Record<OutboxKind, string>;
  protocolVersion: 4 | 5;
  receiptTimeoutMs: number;
  log: Logger;
  clock: Clock;
  emit: <K extends 'sent' | 'retry'>(event: K, payload: SyncEventMap[K][0]) => void;
}

/**
 * The outbox side of the sync: claims due rows, records their messageId, publishes them in
 * signed envelopes, and puts back in the queue what got no receipt in time. Which rows are
 * in flight is the store's record (state in_flight); the registry only adds what memory
 * knows (when each was last sent, whether the broker acknowledged it).
 */
export class OutboxSender {
  readonly #o: OutboxSenderOptions;
  /** Swapped by a gateway key rotation; every publish, resends included, signs with the current one. */
  #signer: Ed25519Signer;
  /** The first publish no receipt has followed yet (for the no_receipts outage): wall time for its record, monotonic for its duration. */
  waitingSince: { at: number; mono: number } | undefined;
  readonly #context: string;
  /** Message bodies signed when sent (1.1: every copy) / sent with the signature made with the row (1.2). */
  readonly signatures = { signedWhenSent: 0, signedWhenMade: 0 };
  /** The bytes of version 1.2 envelopes, reused once the broker acknowledged them. */
  readonly envelopes = new EnvelopeBuffers();

  constructor(options: OutboxSenderOptions) {
    this.#o = options;
    this.#signer = options.signer;
    this.#context = contextKey(options.envelope);
  }

  /**
   * Version 1.2: a new row's envelope signed once, in the transaction that makes the row
   * (the store's sealer), so a drain sends stored bytes. Undefined under version 1.1.
   */
  sealNew(row: EnvelopeSource): { seal: Buffer; messageId: string } | undefined {
    if (this.#o.envelopeVersion !== '1.2') return undefined;
    const messageId = messageIdOf(row, this.#o.envelope.from);
    return { seal: encodeOutboxSeal(this.#seal(row, messageId), this.#o.envelope), messageId };
  }

  #seal(row: EnvelopeSource, messageId: string): SealedEnvelope {
    return sealEnvelopeBody(this.#signer, envelopeFor(row, messageId, this.#o.envelope, 0, 1));
  }

  /** The row's seal if it was made for this gateway's current key and addresses; else signed now, once per claim. */
  #sealedFor(entry: InFlight): SealedEnvelope {
    if (entry.sealed?.kid === this.#signer.kid) return entry.sealed;
    const stored = decodeOutboxSeal(entry.row.envelopeSeal, this.#context);
    if (stored?.kid === this.#signer.kid && stored.payloadLength === entry.row.payload?.byteLength) {
      this.signatures.signedWhenMade++;
      entry.sealed = stored;
    } else {
      this.signatures.signedWhenSent++;
      entry.sealed = this.#seal(entry.row, entry.messageId);
    }
    return entry.sealed;
  }

  /** Signs from the next publish on with `signer`; rows keep their messageId (it does not depend on the key). */
  useSigner(signer: Ed25519Signer): void {
    this.#signer = signer;
  }

  /** Claims up to `limit` due rows in one transaction and publishes them; returns how many. */
  claimAndPublish(client: MqttClient, epoch: () => number, limit: number): number {
    const now = this.#o.clock.now();
    const claimed = this.#claim(now, limit);
    for (const entry of claimed) this.publish(client, entry, now, epoch);
    return claimed.length;
  }

  #claim(now: number, limit: number): InFlight[] {
    const { store, stats } = this.#o;
    // The batch's loop is a method, not the body of this closure: V8 optimised the loop of
    // new closures again (20–60 ms of a compiler thread each time, once or twice a drain),
    // while a method's optimised code serves every batch.
    const out = transactWithStats(store, stats, () => this.#claimRows(now, limit));
    for (const entry of out) this.#o.inFlight.add(entry);
    return out;
  }

  #claimRows(now: number, limit: number): InFlight[] {
    const { store, envelope } = this.#o;
    const out = emptyObjectArray<InFlight>();
    for (const row of store.outbox.claimDue(now, limit)) {
      const messageId = messageIdOf(row, envelope.from);
      if (!row.messageId && !this.#recordMessageId(row, messageId, now)) continue;
      out.push({
        row,
        messageId,
        attempt: row.attempts,
        firstSentAt: now,
        lastSentAt: now,
        lastSentMono: this.#o.clock.monotonic(),
        pubackedOn: undefined,
        bytes: 0,
      });
    }
    return out;
  }

  /**
   * Records the messageId before the first publish. Two rows with the very same content
   * are the same message: the second one settles with the first one's receipt.
   */
  #recordMessageId(row: OutboxEntry, messageId: string, now: number): boolean {
    const { outbox } = this.#o.store;
    try {
      outbox.recordMessageId(row.id, messageId);
      return true;
    } catch (err) {
      if (!isCtopError(err, 'E_STORE_OUTBOX_STATE')) throw err;
    }
    const twin = outbox.findByMessageId(messageId);
    if (twin?.receipt && twin.state === 'acknowledged') outbox.acknowledge(row.id, twin.receipt);
    else if (twin?.receipt && twin.state === 'rejected') outbox.reject(row.id, twin.receipt);
    else outbox.retryLater(row.id, now, `same content as outbox row ${twin?.id}: settled by its receipt`);
    return false;
  }

  /** Publishes (again) one message in flight; `epoch` tells whether its PUBACK is still of this connection. */
  publish(client: MqttClient, entry: InFlight, now: number, epoch: () => number): void {
    const o = this.#o;
    const resend = entry.bytes > 0 || entry.attempt > 1;
    if (entry.bytes > 0) entry.attempt++;
    entry.lastSentAt = now;
    entry.lastSentMono = o.clock.monotonic();
    entry.pubackedOn = undefined;
    let bytes: Buffer;
    let reusable = false;
    try {
      const attempt = Math.max(1, entry.attempt);
      if (o.envelopeVersion === '1.2') {
        const sealed = this.#sealedFor(entry);
        bytes = sealedCopy(sealed, payloadOf(entry.row), now, attempt, this.envelopes.take);
        reusable = true;
        o.copies.addSealed(entry.messageId, sealed, now, attempt);
      } else {
        // The row's fields are encoded once per claim; a publish adds sentAt and attempt.
        entry.template ??= envelopeTemplate(envelopeFor(entry.row, entry.messageId, o.envelope, now, 1));
        bytes = sealFromTemplate(this.#signer, entry.template, now, attempt);
        this.signatures.signedWhenSent++;
        o.copies.add(entry.messageId, bytes);
      }
    } catch (err) {
      const e = isCtopError(err)
        ? err
        : new CtopError('E_SYNC_ENVELOPE', (err as Error).message, { cause: err });
      o.log.error({ ...e.toLog(), outboxId: entry.row.id }, e.message);
      o.inFlight.delete(entry.messageId);
      o.store.outbox.retryLater(entry.row.id, now, e.message);
      return;
    }
    entry.bytes = bytes.byteLength;
    const sentOn = epoch();
    const options: IClientPublishOptions = { qos: 1 };
    if (o.protocolVersion === 5) {
      options.properties = {
        responseTopic: o.envelope.replyTo,
        correlationData: Buffer.from(entry.messageId),
        contentType: CONTENT_TYPES.envelope,
      };
    }
    client.publish(o.topics[entry.row.kind], bytes, options, (err) => {
      if (err) return;
      // Acknowledged: the broker has read these bytes (1.1 copies are kept by `copies`).
      if (reusable) this.envelopes.give(bytes);
      if (sentOn === epoch() && o.inFlight.get(entry.messageId) === entry) entry.pubackedOn = sentOn;
    });
    this.waitingSince ??= this.#since(now);
    o.stats.add(
      now,
      resend ? { resends: 1, bytesSent: bytes.byteLength } : { messagesSent: 1, bytesSent: bytes.byteLength },
    );
    o.log.debug(
      { outboxId: entry.row.id, messageId: entry.messageId, kind: entry.row.kind, attempt: entry.attempt },
      'sent',
    );
    o.emit('sent', {
      outboxId: entry.row.id,
      messageId: entry.messageId,
      kind: entry.row.kind,
      bytes: bytes.byteLength,
      attempt: entry.attempt,
      resend,
    });
  }

  /**
   * After a reconnect: if the broker lost the session, anything in flight may be gone and is
   * sent again; otherwise only what it never acknowledged, and the rest waits for its receipt
   * with a fresh timeout (no receipt could come while the connection was down).
   */
  reconnected(client: MqttClient, sessionPresent: boolean, epoch: () => number): void {
    const now = this.#o.clock.now();
    for (const entry of this.#o.inFlight.values()) {
      if (!sessionPresent || entry.pubackedOn === undefined) this.publish(client, entry, now, epoch);
      else {
        entry.lastSentAt = now;
        entry.lastSentMono = this.#o.clock.monotonic();
      }
    }
    this.waitingSince = this.#o.inFlight.size > 0 ? this.#since(now) : undefined;
  }

  /** A valid receipt came: the exchange answers. */
  answered(now: number): void {
    this.waitingSince = this.#o.inFlight.size > 0 ? this.#since(now) : undefined;
  }

  #since(now: number): { at: number; mono: number } {
    return { at: now, mono: this.#o.clock.monotonic() };
  }

  /** Messages without a receipt in time go back to the queue (store backoff), to be resent as they were. */
  expire(now: number): void {
    const { store, stats, inFlight, receiptTimeoutMs, log } = this.#o;
    const expired = inFlight.expired(this.#o.clock.monotonic(), receiptTimeoutMs);
    if (expired.length === 0) return;
    const retried: { entry: InFlight; next: number; reason: string }[] = [];
    transactWithStats(store, stats, () => {
      for (const entry of expired) {
        const reason = `no receipt within ${receiptTimeoutMs} ms (attempt ${entry.attempt})`;
        try {
          retried.push({ entry, next: store.outbox.retryLater(entry.row.id, now, reason), reason });
        } catch (err) {
          // Settled meanwhile (a receipt that came by another path): nothing to retry.
          if (!isCtopError(err, 'E_STORE_OUTBOX_STATE')) throw err;
        }
      }
    });
    for (const e of expired) inFlight.delete(e.messageId);
    for (const { entry, next, reason } of retried) {
      log.info({ outboxId: entry.row.id, messageId: entry.messageId, nextAttemptAt: next }, reason);
      this.#o.emit('retry', {
        outboxId: entry.row.id,
        messageId: entry.messageId,
        nextAttemptAt: next,
        reason,
      });
    }
  }
}
