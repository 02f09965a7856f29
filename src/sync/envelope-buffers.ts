/** Buffers are kept in classes of whole 4 KiB: one class serves manifests of about one size. */
const GRAIN = 4096;
/** Envelopes larger than this are not kept (a rare manifest; it is allocated and collected). */
const LARGEST_KEPT = 256 * 1024;

/**
 * Envelope bytes reused from one publish to the next. A drain publishes thousands of
 * manifest-sized envelopes; each freshly allocated one is an ArrayBuffer outside V8's heap,
 * and their churn is what starts V8's major collections ("external memory pressure"):
 * `node --trace-incremental-marking` on a drain shows it. Reused, they cost a copy.
 *
 * A buffer comes back only when the broker has acknowledged the publish that carried it
 * (QoS 1 PUBACK): the broker had then read every byte, so the socket no longer needs it.
 * Failed publishes never give theirs back — those are left to the garbage collector, as are
 * buffers beyond `keepBytes`; a buffer not lent by this pool, or given twice, is not taken in.
 */
export class EnvelopeBuffers {
  readonly #keepBytes: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** The ArrayBuffers handed out and not yet given back: only those are taken in, once. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  #keptBytes = 0;
  /** Buffers handed out again instead of allocated (for tests and benchmarks). */
  reused = 0;

  constructor(keepBytes = 8 * 1024 * 1024) {
    this.#keepBytes = keepBytes;
  }

  /** A buffer of exactly `length` bytes (contents undefined), reused when one is free. */
  readonly take = (length: number): Buffer => {
    const capacity = Math.ceil(Math.max(length, 1) / GRAIN) * GRAIN;
    if (capacity > LARGEST_KEPT) return Buffer.allocUnsafe(length);
    const kept = this.#free.get(capacity)?.pop();
    if (kept) {
      this.#keptBytes -= capacity;
      this.reused++;
    }
    // allocUnsafeSlow: an ArrayBuffer of its own (never a slice of Node's shared pool), not zeroed.
    const backing = kept ?? (Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer);
    this.#lent.add(backing);
    return Buffer.from(backing, 0, length);
  };

  /** `bytes` (from `take`) is no longer read by anyone. */
  give(bytes: Buffer): void {
    const backing = bytes.buffer;
    if (!(backing instanceof ArrayBuffer) || !this.#lent.has(backing)) return;
    this.#lent.delete(backing);
    if (this.#keptBytes + backing.byteLength > this.#keepBytes) return;
    const list = this.#free.get(backing.byteLength);
    if (list) list.push(backing);
    else this.#free.set(backing.byteLength, [backing]);
    this.#keptBytes += backing.byteLength;
  }

  /** Bytes kept for reuse now. */
  get keptBytes(): number {
    return this.#keptBytes;
  }
}
