/**
 * How many bytes of envelopes may be out without a receipt: what receipts answered in the
 * last quarter of the receipt timeout, within a floor and a ceiling.
 *
 * A message's receipt timeout runs from its publish, so everything in flight must get
 * through the uplink well within it, or the queue itself makes messages late and they are
 * sent again. The right amount is the link's: a checkpoint on a local network drains at tens
 * of MB/s and wants many messages out (each claim and settling then covers more rows: CPU
 * per message in drains of 5,000 on loopback fell 0.196 → 0.161 ms from 256 to 1,024
 * messages in flight, scripts/bench/sync/drain-ab.ts), while a cellular uplink of 1 Mbit/s
 * carries ~1 MB in a quarter of 30 s.
 * Counting answered bytes over a span measures that without knowing the link: while the
 * window is what limits, answers arrive at window ÷ round trip and the sum over the span
 * outgrows the window, so it opens; once the link limits, the sum is the link's rate × span.
 * The floor lets a drain start (and is small enough for a slow uplink); the ceiling bounds
 * the memory the messages in flight hold.
 */
export class SendWindow {
  readonly #spanMs: number;
  readonly #floorBytes: number;
  readonly #ceilingBytes: number;
  /** Answered bytes per 1/8 of the span, oldest first: a bounded record however busy the drain. */
  readonly #slots: { since: number; bytes: number }[] = [];

  constructor(options: { spanMs: number; floorBytes: number; ceilingBytes: number }) {
    this.#spanMs = Math.max(1, options.spanMs);
    this.#ceilingBytes = options.ceilingBytes;
    this.#floorBytes = Math.min(options.floorBytes, options.ceilingBytes);
  }

  /** Receipts answered messages of `bytes` in all (monotonic ms). */
  answered(bytes: number, nowMono: number): void {
    if (bytes <= 0) return;
    this.#expire(nowMono);
    const last = this.#slots.at(-1);
    if (last && nowMono - last.since < this.#spanMs / 8) last.bytes += bytes;
    else this.#slots.push({ since: nowMono, bytes });
  }

  /** The bytes that may be in flight now. */
  limit(nowMono: number): number {
    this.#expire(nowMono);
    let sum = 0;
    for (const slot of this.#slots) sum += slot.bytes;
    return Math.min(this.#ceilingBytes, Math.max(this.#floorBytes, sum));
  }

  #expire(nowMono: number): void {
    while (this.#slots.length > 0 && nowMono - this.#slots[0]!.since >= this.#spanMs) this.#slots.shift();
  }
}
