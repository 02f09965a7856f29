import { hash } from 'node:crypto';
import { type SealedEnvelope, sealedCopy } from '../exchange-wire/index.js';

/** A copy as published: its SHA-256 (version 1.1), or what rebuilds it byte for byte (1.2). */
type Copy = Buffer | { sealed: SealedEnvelope; sentAt: number; attempt: number };

/**
 * The copies of each message this gateway published (each copy differs: `sentAt` and
 * `attempt`). A rejection the exchange could not attribute to this gateway — its key did
 * not verify — settles a message only when the result's `envelopeSha256` names one of these
 * (EXCHANGE.md §5.1): otherwise anyone able to publish on the gateway's topic could
 * quarantine its messages with a copy carrying a broken signature. A version 1.1 copy is
 * kept as its hash; a version 1.2 copy as the seal and its two per-copy fields, hashed only
 * when such a rejection asks (rare: the drain hashes nothing). Memory only and bounded:
 * after a restart the next copy gets its own answer.
 */
export class PublishedCopies {
  readonly #byMessageId = new Map<string, Copy[]>();
  readonly #maxMessages: number;
  readonly #perMessage: number;

  /** Default: the last 8 copies of each of the last 65,536 messages published. */
  constructor(options: { maxMessages?: number; perMessage?: number } = {}) {
    this.#maxMessages = options.maxMessages ?? 65_536;
    this.#perMessage = options.perMessage ?? 8;
  }

  /** A copy published as these bytes. */
  add(messageId: string, envelope: Uint8Array): void {
    this.#add(messageId, hash('sha256', envelope, 'buffer'));
  }

  /** A copy published as `sealedCopy(sealed, payload, sentAt, attempt)`. */
  addSealed(messageId: string, sealed: SealedEnvelope, sentAt: number, attempt: number): void {
    this.#add(messageId, { sealed, sentAt, attempt });
  }

  #add(messageId: string, copy: Copy): void {
    const copies = this.#byMessageId.get(messageId) ?? [];
    // Re-inserted so the map's order is the order of the latest publish (oldest first out).
    this.#byMessageId.delete(messageId);
    copies.push(copy);
    if (copies.length > this.#perMessage) copies.shift();
    this.#byMessageId.set(messageId, copies);
    if (this.#byMessageId.size > this.#maxMessages) {
      const oldest = this.#byMessageId.keys().next().value;
      if (oldest !== undefined) this.#byMessageId.delete(oldest);
    }
  }

  /**
   * Whether `envelopeSha256` is the hash of a copy of `messageId` this gateway published;
   * a sealed copy is rebuilt around `payload` (the message's, from its row).
   */
  has(messageId: string, envelopeSha256: Uint8Array | undefined, payload?: Uint8Array): boolean {
    if (envelopeSha256 === undefined) return false;
    const wanted = Buffer.from(envelopeSha256.buffer, envelopeSha256.byteOffset, envelopeSha256.byteLength);
    return (
      this.#byMessageId.get(messageId)?.some((copy) => {
        if (Buffer.isBuffer(copy)) return copy.equals(wanted);
        if (payload?.byteLength !== copy.sealed.payloadLength) return false;
        return hash('sha256', sealedCopy(copy.sealed, payload, copy.sentAt, copy.attempt), 'buffer').equals(
          wanted,
        );
      }) ?? false
    );
  }

  /** The message is settled: its copies need no matching any more. */
  forget(messageId: string): void {
    this.#byMessageId.delete(messageId);
  }

  get size(): number {
    return this.#byMessageId.size;
  }
}
