import { createHash } from 'node:crypto';

/**
 * The SHA-256 of each copy of a message this gateway published (each copy differs: `sentAt`
 * and `attempt`). A rejection the exchange could not attribute to this gateway — its key
 * did not verify — settles a message only when the result's `envelopeSha256` names one of
 * these (EXCHANGE.md §5.1): otherwise anyone able to publish on the gateway's topic could
 * quarantine its messages with a copy carrying a broken signature. Memory only and bounded:
 * after a restart the next copy gets its own answer.
 *
 * Hashed lazily: almost every message is settled by an acceptance, which needs no hash, so
 * the latest copy of a message is kept as bytes and hashed only when asked about, when a
 * newer copy replaces it, or when more than `maxPending` copies wait (the oldest first).
 */
export class PublishedCopies {
  readonly #byMessageId = new Map<string, Buffer[]>();
  /** The latest copy of a message, not hashed yet; insertion order is publish order. */
  readonly #pending = new Map<string, Uint8Array>();
  readonly #maxMessages: number;
  readonly #perMessage: number;
  readonly #maxPending: number;

  /** Default: the last 8 copies of each of the last 65,536 messages published; up to 1,024 copies (~10 MB) unhashed. */
  constructor(options: { maxMessages?: number; perMessage?: number; maxPending?: number } = {}) {
    this.#maxMessages = options.maxMessages ?? 65_536;
    this.#perMessage = options.perMessage ?? 8;
    this.#maxPending = options.maxPending ?? 1024;
  }

  add(messageId: string, envelope: Uint8Array): void {
    this.#hashPending(messageId);
    const copies = this.#byMessageId.get(messageId) ?? [];
    // Re-inserted so the map's order is the order of the latest publish (oldest first out).
    this.#byMessageId.delete(messageId);
    this.#byMessageId.set(messageId, copies);
    this.#pending.set(messageId, envelope);
    if (this.#pending.size > this.#maxPending) {
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#hashPending(oldest);
    }
    if (this.#byMessageId.size > this.#maxMessages) {
      const oldest = this.#byMessageId.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
  }

  /** Whether `envelopeSha256` is the hash of a copy of `messageId` this gateway published. */
  has(messageId: string, envelopeSha256: Uint8Array | undefined): boolean {
    if (envelopeSha256 === undefined) return false;
    this.#hashPending(messageId);
    return this.#byMessageId.get(messageId)?.some((sha) => sha.equals(envelopeSha256)) ?? false;
  }

  /** The message is settled: its copies need no matching any more. */
  forget(messageId: string): void {
    this.#byMessageId.delete(messageId);
    this.#pending.delete(messageId);
  }

  get size(): number {
    return this.#byMessageId.size;
  }

  #hashPending(messageId: string): void {
    const bytes = this.#pending.get(messageId);
    if (bytes === undefined) return;
    this.#pending.delete(messageId);
    const copies = this.#byMessageId.get(messageId);
    if (!copies) return;
    copies.push(createHash('sha256').update(bytes).digest());
    if (copies.length > this.#perMessage) copies.shift();
  }
}
