/**
 * Turns to move manifest bytes: at most `size` reads at once, the smallest key (the lock
 * that arrived first, so has least time left in range) next when a turn is released.
 *
 * Every BLE link that moves bytes takes an equal share of the one radio's air, and so does
 * the scanner: four reads moving at once each finish four times later than one alone, and
 * the lock with least time left finishes last with the rest. A few at once keep the air
 * busy while the other links connect, set up GATT, say HELLO and AUTH, and wait.
 */
export class ManifestTurns {
  readonly size: number;
  #busy = 0;
  readonly #waiting: { key: number; grant: () => void }[] = [];

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError('turns must be a positive integer');
    this.size = size;
  }

  /** Reads moving bytes now. */
  get busy(): number {
    return this.#busy;
  }

  /** Reads waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with the release once it is `key`'s turn. A wait `signal` aborts leaves the
   * queue and never resolves; the release is idempotent.
   */
  take(key: number, signal?: AbortSignal): Promise<() => void> {
    if (this.#busy < this.size) {
      this.#busy++;
      return Promise.resolve(this.#release());
    }
    return new Promise((resolve) => {
      const waiter = { key, grant: () => resolve(this.#release()) };
      // Before the first key that is larger: equal keys keep their order.
      const at = this.#waiting.findIndex((w) => w.key > key);
      this.#waiting.splice(at < 0 ? this.#waiting.length : at, 0, waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#waiting.indexOf(waiter);
          if (i >= 0) this.#waiting.splice(i, 1);
        },
        { once: true },
      );
    });
  }

  #release(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next.grant();
      else this.#busy--;
    };
  }
}
