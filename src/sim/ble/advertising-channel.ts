import type { SimPeripheral } from './peripheral.js';
import type { SimTimer } from './sim-clock.js';
import type { SimWorld } from './world.js';

/** The spec's advDelay: 0-10 ms of random delay added to every advertising interval. */
const ADV_DELAY_MAX_MS = 10;

/**
 * The advertising events of the peripherals in range, played while the controller listens
 * (scanning or initiating). Each peripheral advertises every interval + advDelay from a
 * random phase; one timer serves them all, waking at the earliest due event and playing
 * everything that has fallen due since, so a fast clock costs batches, not timers.
 */
export class AdvertisingChannel {
  readonly #world: SimWorld;
  readonly #isAdvertising: (p: SimPeripheral) => boolean;
  readonly #onEvent: (p: SimPeripheral) => void;
  readonly #next = new Map<SimPeripheral, number>();
  #timer: SimTimer | undefined;
  #listening = false;
  #advertisers = 0;
  readonly #onArrive = () => this.#reschedule();

  /**
   * `isAdvertising`: whether a peripheral in range sends advertising events now (a
   * connected one usually does not). `onEvent`: one advertising event of `p`, now.
   */
  constructor(
    world: SimWorld,
    isAdvertising: (p: SimPeripheral) => boolean,
    onEvent: (p: SimPeripheral) => void,
  ) {
    this.#world = world;
    this.#isAdvertising = isAdvertising;
    this.#onEvent = onEvent;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** Peripherals in range that advertise, as of the last batch (they collide with each other). */
  get advertisersInRange(): number {
    return this.#advertisers;
  }

  listen(on: boolean): void {
    if (on === this.#listening) return;
    this.#listening = on;
    if (on) {
      this.#world.on('arrive', this.#onArrive);
      this.#reschedule();
    } else {
      this.#world.off('arrive', this.#onArrive);
      this.#timer?.cancel();
      this.#timer = undefined;
    }
  }

  close(): void {
    this.listen(false);
  }

  #reschedule(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#tick();
  }

  #tick(): void {
    if (!this.#listening) return;
    const world = this.#world;
    const now = world.clock.monotonic();
    let earliest = Number.POSITIVE_INFINITY;
    let advertisers = 0;
    for (const p of world.peripherals) if (world.inRange(p) && this.#isAdvertising(p)) advertisers++;
    this.#advertisers = advertisers;
    for (const p of world.peripherals) {
      if (!world.inRange(p)) {
        this.#next.delete(p);
        continue;
      }
      const interval = p.advertisingIntervalMs;
      let next = this.#next.get(p);
      if (next === undefined) {
        next = now + world.random() * interval;
      } else if (next < now - interval) {
        // Events nobody listened to are not replayed; keep the phase, skip to the present.
        next += Math.floor((now - next) / interval) * interval;
      }
      while (next <= now) {
        if (this.#isAdvertising(p)) this.#onEvent(p);
        if (!this.#listening) return;
        next += interval + world.random() * ADV_DELAY_MAX_MS;
      }
      this.#next.set(p, next);
      if (next < earliest) earliest = next;
    }
    this.#timer?.cancel();
    this.#timer = undefined;
    if (earliest !== Number.POSITIVE_INFINITY) {
      this.#timer = world.clock.at(() => {
        this.#timer = undefined;
        this.#tick();
      }, earliest);
    }
  }
}
