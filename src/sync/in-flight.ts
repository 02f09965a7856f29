import type { EnvelopeTemplate, SealedEnvelope } from '../exchange-wire/index.js';
import type { OutboxEntry } from '../store/index.js';

/** A message published and not yet answered by a receipt. */
export interface InFlight {
  /** The claimed row, payload included, so a resend needs no store read. */
  row: OutboxEntry;
  messageId: string;
  /** The attempt number the next publish carries in its envelope. */
  attempt: number;
  firstSentAt: number;
  lastSentAt: number;
  /** The latest publish on the monotonic clock: the receipt timeout is a duration (the wall clock may be stepped). */
  lastSentMono: number;
  /** Connection number on which the broker acknowledged the latest publish (PUBACK), if it did. */
  pubackedOn: number | undefined;
  /** Size of the latest envelope. */
  bytes: number;
  /** The row's envelope fields encoded at the first publish, reused by every resend. */
  template?: EnvelopeTemplate;
  /** Version 1.2: the row's body signed once (stored with the row, or signed at its first publish). */
  sealed?: SealedEnvelope;
}

/** The messages in flight, by messageId and by outbox row. */
export class InFlightRegistry {
  readonly #byMessageId = new Map<string, InFlight>();

  get size(): number {
    return this.#byMessageId.size;
  }

  add(entry: InFlight): void {
    this.#byMessageId.set(entry.messageId, entry);
  }

  get(messageId: string): InFlight | undefined {
    return this.#byMessageId.get(messageId);
  }

  delete(messageId: string): boolean {
    return this.#byMessageId.delete(messageId);
  }

  values(): IterableIterator<InFlight> {
    return this.#byMessageId.values();
  }

  /** How many messages are in flight and the bytes of their latest envelopes. */
  totals(): { count: number; bytes: number } {
    let bytes = 0;
    for (const e of this.#byMessageId.values()) bytes += e.bytes;
    return { count: this.#byMessageId.size, bytes };
  }

  /** When the longest-waiting message was last sent, or undefined when nothing is in flight. */
  oldestSentAt(): number | undefined {
    let oldest: number | undefined;
    for (const e of this.#byMessageId.values())
      if (oldest === undefined || e.lastSentAt < oldest) oldest = e.lastSentAt;
    return oldest;
  }

  /** Messages whose latest publish got no receipt within `timeoutMs` (`nowMono`: monotonic ms). */
  expired(nowMono: number, timeoutMs: number): InFlight[] {
    return [...this.#byMessageId.values()].filter((e) => nowMono - e.lastSentMono >= timeoutMs);
  }

  clear(): InFlight[] {
    const all = [...this.#byMessageId.values()];
    this.#byMessageId.clear();
    return all;
  }
}
