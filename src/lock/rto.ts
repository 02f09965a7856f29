/**
 * Retransmission timeout from measured round trips (RFC 6298 §2, Karn's rule applied by
 * the caller: only first transmissions are sampled). A lock on a slow UART and one behind
 * a busy BLE connection differ by two orders of magnitude; a fixed timeout would either
 * stall the fast one or give up on the slow one.
 */
export class RetransmitTimer {
  #srtt: number | undefined;
  #rttvar = 0;
  #rto: number;
  readonly minMs: number;
  readonly maxMs: number;

  constructor(options: { initialMs: number; minMs: number; maxMs: number }) {
    this.#rto = options.initialMs;
    this.minMs = options.minMs;
    this.maxMs = options.maxMs;
  }

  /** Current timeout in ms. */
  get timeoutMs(): number {
    return this.#rto;
  }

  sample(rttMs: number): void {
    if (this.#srtt === undefined) {
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rttMs);
      this.#srtt = 0.875 * this.#srtt + 0.125 * rttMs;
    }
    this.#rto = Math.min(this.maxMs, Math.max(this.minMs, this.#srtt + Math.max(10, 4 * this.#rttvar)));
  }

  /** After a timeout: back off (RFC 6298 §5.5). */
  backoff(): void {
    this.#rto = Math.min(this.maxMs, this.#rto * 2);
  }
}
