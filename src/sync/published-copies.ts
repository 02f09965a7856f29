import { createHash } from 'node:crypto';

/**
 * The SHA-256 of each copy of a message this gateway published (each copy differs: `sentAt`
 * and `attempt`). A rejection the exchange could not attribute to this gateway — its key
 * did not verify — settles a message only when the result's `envelopeSha256` names one of
 * these (EXCHANGE.md §5.1): otherwise anyone able to publish on the gateway's topic could
 * quarantine its messages with a copy carrying a broken signature. Memory only and bounded:
 * after a restart the next copy gets its own answer.
 */
export class PublishedCopies {
  readonly #byMessageId = new Map<string, Buffer[]>();
  readonly #maxMessages: number;
  readonly #perMessage: number;

  /** Default: the last 8 copies of each of the last 65,536 messages published. */
  constructor(options: { maxMessages?: number; perMessage?: number } = {}) {
    this.#maxMessages = options.maxMessages ?? 65_536;
    this.#perMessage = options.perMessage ?? 8;
  }

  add(messageId: string, envelope: Uint8Array): void {
    const sha = createHash('sha256').update(envelope).digest();
    const copies = this.#byMessageId.get(messageId) ?? [];
    // Re-inserted so the map's order is the order of the latest publish (oldest first out).
    this.#byMessageId.delete(messageId);
    copies.push(sha);
    if (copies.length > this.#perMessage) copies.shift();
    this.#byMessageId.set(messageId, copies);
    if (this.#byMessageId.size > this.#maxMessages) {
      const oldest = this.#byMessageId.keys().next().value;
      if (oldest !== undefined) this.#byMessageId.delete(oldest);
    }
  }

  /** Whether `envelopeSha256` is the hash of a copy of `messageId` this gateway published. */
  has(messageId: string, envelopeSha256: Uint8Array | undefined): boolean {
    if (envelopeSha256 === undefined) return false;
    return this.#byMessageId.get(messageId)?.some((sha) => sha.equals(envelopeSha256)) ?? false;
  }

  /** The message is settled: its copies need no matching any more. */
  forget(messageId: string): void {
    this.#byMessageId.delete(messageId);
  }

  get size(): number {
    return this.#byMessageId.size;
  }
}
