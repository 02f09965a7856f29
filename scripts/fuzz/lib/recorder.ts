/**
 * The case in progress, kept where the supervising thread can read it while the campaign's
 * thread is stuck: a SharedArrayBuffer holding a case counter and the bytes of the current
 * case. A hang (the counter stops) or an out-of-memory exit then still names its input.
 */
const HEADER_INTS = 2; // [cases started, length of the recorded input]
export const RECORD_CAPACITY = 4 * 1024 * 1024;

export class CaseRecorder {
  readonly buffer: SharedArrayBuffer;
  readonly #header: Int32Array;
  readonly #bytes: Uint8Array;

  constructor(buffer = new SharedArrayBuffer(HEADER_INTS * 4 + RECORD_CAPACITY)) {
    this.buffer = buffer;
    this.#header = new Int32Array(buffer, 0, HEADER_INTS);
    this.#bytes = new Uint8Array(buffer, HEADER_INTS * 4);
  }

  /** Called at the start of every case. Inputs beyond the capacity are recorded cut. */
  start(input: Uint8Array): void {
    const n = Math.min(input.byteLength, this.#bytes.byteLength);
    this.#bytes.set(n === input.byteLength ? input : input.subarray(0, n));
    Atomics.store(this.#header, 1, n);
    Atomics.add(this.#header, 0, 1);
  }

  get started(): number {
    return Atomics.load(this.#header, 0);
  }

  current(): Uint8Array {
    return Uint8Array.from(this.#bytes.subarray(0, Atomics.load(this.#header, 1)));
  }
}
