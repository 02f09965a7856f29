import { numberOfCompletedPackets } from './hci-events.js';

/**
 * Number Of Completed Packets bookkeeping: counts per connection handle what the link
 * layer finished sending, and reports everything of one event-loop turn in one event, as
 * controllers batch it. noble releases its next ACL packets on these events.
 */
export class CompletedPackets {
  readonly #counts = new Map<number, number>();
  readonly #toHost: (packet: Buffer) => void;
  #flush: NodeJS.Immediate | undefined;

  constructor(toHost: (packet: Buffer) => void) {
    this.#toHost = toHost;
  }

  add(handle: number, count: number): void {
    this.#counts.set(handle, (this.#counts.get(handle) ?? 0) + count);
    this.#flush ??= setImmediate(() => {
      this.#flush = undefined;
      if (this.#counts.size === 0) return;
      this.#toHost(numberOfCompletedPackets(this.#counts));
      this.#counts.clear();
    });
  }

  /** A closed handle: the host reclaims its buffers itself (Vol 4 Part E §4.3), so no event for it. */
  forget(handle: number): void {
    this.#counts.delete(handle);
  }

  clear(): void {
    this.#counts.clear();
  }

  close(): void {
    this.clear();
    if (this.#flush) clearImmediate(this.#flush);
    this.#flush = undefined;
  }
}
