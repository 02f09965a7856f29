import { CtopError } from '../../errors.js';

export interface ByteQueueOptions {
  /** Bytes held before the source is asked to pause. Default 64 KiB. */
  highWaterMark?: number;
  /** Called when the queue passes the high-water mark. */
  pause?: () => void;
  /** Called when the queue drains below half the high-water mark. */
  resume?: () => void;
}

/**
 * Turns a push source (stream 'data', BLE notifications) into the pull `read()` of
 * LockLink, with bounded memory: past the high-water mark the source is paused, or — for
 * sources that cannot pause, like a flood of notifications — the link fails.
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #waiter: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  #paused = false;
  readonly #highWaterMark: number;
  readonly #pause: (() => void) | undefined;
  readonly #resume: (() => void) | undefined;

  constructor(options: ByteQueueOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.#pause = options.pause;
    this.#resume = options.resume;
  }

  get size(): number {
    return this.#bytes;
  }

  /** Adds bytes from the source. Returns false if the source should stop sending. */
  push(chunk: Uint8Array): boolean {
    if (this.#failure || chunk.byteLength === 0) return !this.#failure;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve(chunk);
      return true;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    if (this.#bytes >= this.#highWaterMark) {
      if (this.#pause) {
        if (!this.#paused) {
          this.#paused = true;
          this.#pause();
        }
      } else {
        this.fail(
          new CtopError('E_LOCK_PROTOCOL', `the lock sent ${this.#bytes} bytes nobody asked for (flood)`, {
            details: { heldBytes: this.#bytes },
          }),
          true,
        );
      }
      return false;
    }
    return true;
  }

  read(): Promise<Uint8Array> {
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#bytes -= chunk.byteLength;
      if (this.#paused && this.#bytes < this.#highWaterMark / 2) {
        this.#paused = false;
        this.#resume?.();
      }
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#waiter) return Promise.reject(new CtopError('E_LOCK_STATE', 'only one read() may be pending'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /**
   * Fails the pending read and every read after the queued bytes are consumed (the last
   * bytes a lock sent before the link dropped still count). `discard` drops them too.
   */
  fail(err: Error, discard = false): void {
    if (discard) {
      this.#chunks = [];
      this.#bytes = 0;
    }
    if (this.#failure) return;
    this.#failure = err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
  }
}

export function canceled(endpoint: string): CtopError {
  return new CtopError('E_TRANSPORT_CLOSED', `link to ${endpoint} closed`, {
    details: { canceled: true, endpoint },
  });
}
