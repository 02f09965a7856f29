/**
 * Releases bytes no faster than a serial line would carry them (baud/10 bytes per second
 * for 8N1). A pseudo-terminal has no baud rate of its own; without this a simulated lock
 * would answer at memory speed and every timing figure would be fiction.
 */
export class PacedOutput {
  readonly bytesPerSecond: number | undefined;
  #sink: (bytes: Buffer) => void;
  #queue: Buffer[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Start of the current busy period and bytes released in it: the token bucket. */
  #busySince = 0;
  #released = 0;
  #closed = false;

  constructor(sink: (bytes: Buffer) => void, bytesPerSecond?: number) {
    if (bytesPerSecond !== undefined && !(bytesPerSecond > 0))
      throw new TypeError('bytesPerSecond must be > 0');
    this.#sink = sink;
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Bytes waiting for the line. */
  get queued(): number {
    return this.#queued;
  }

  write(bytes: Buffer): void {
    if (this.#closed || bytes.byteLength === 0) return;
    if (this.bytesPerSecond === undefined) {
      this.#sink(bytes);
      return;
    }
    if (this.#queued === 0) {
      this.#busySince = performance.now();
      this.#released = 0;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.byteLength;
    this.#schedule(0);
  }

  /** Drops what has not gone out yet (the link was cut). */
  clear(): void {
    this.#queue = [];
    this.#queued = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.clear();
    this.#closed = true;
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
    }, ms);
  }

  #release(): void {
    const rate = this.bytesPerSecond!;
    const due = Math.floor(((performance.now() - this.#busySince) * rate) / 1000) - this.#released;
    let budget = due;
    const out: Buffer[] = [];
    while (budget > 0 && this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (head.byteLength <= budget) {
        out.push(head);
        this.#queue.shift();
        budget -= head.byteLength;
      } else {
        out.push(head.subarray(0, budget));
        this.#queue[0] = head.subarray(budget);
        budget = 0;
      }
    }
    const sent = due - budget;
    this.#released += sent;
    this.#queued -= sent;
    if (out.length > 0) this.#sink(Buffer.concat(out));
    if (this.#queued > 0) {
      // Wake when at least a few bytes are due; timers are ~1 ms coarse anyway.
      this.#schedule(Math.max(1, Math.ceil((Math.min(this.#queued, 64) * 1000) / rate)));
    }
  }
}
