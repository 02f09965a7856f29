import { EventEmitter } from 'node:events';
import { type Logger, silentLogger } from '../../log.js';
import { seededRandom } from '../prng.js';
import { DEFAULT_LINK, type LinkParams, validateLinkParams } from './link-params.js';
import type { SimPeripheral } from './peripheral.js';
import { SimClock, type SimTimer } from './sim-clock.js';

export interface SimWorldOptions {
  /** Default: a new SimClock with `timeScale`. */
  clock?: SimClock;
  /** Simulated seconds per wall second when no clock is given. Default 1. */
  timeScale?: number;
  /** Seed of the world's PRNG (loss, noise, advertising jitter), so a run can be replayed. Default 1. */
  seed?: number;
  /** Injected random source; overrides `seed`. */
  random?: () => number;
  /** Link parameters for every connection unless a peripheral overrides them. */
  link?: Partial<LinkParams>;
  log?: Logger;
}

export interface SimWorldEvents {
  /** A peripheral came into range. */
  arrive: [SimPeripheral];
  /** A peripheral left range; a connection to it breaks. */
  depart: [SimPeripheral];
}

/**
 * The simulated surroundings of the gateway's radio: the peripherals that exist, when each
 * is in range (a train rolling past), the signal it shows, and the default link behaviour.
 * Knows nothing of HCI or of the lock protocol; the controller emulator reads it.
 */
export class SimWorld extends EventEmitter<SimWorldEvents> {
  readonly clock: SimClock;
  readonly random: () => number;
  readonly link: Readonly<LinkParams>;
  readonly log: Logger;
  readonly #peripherals = new Map<string, SimPeripheral>();
  readonly #timers = new Map<SimPeripheral, SimTimer[]>();
  #closed = false;

  constructor(options: SimWorldOptions = {}) {
    super();
    validateLinkParams(options.link ?? {});
    this.clock = options.clock ?? new SimClock({ timeScale: options.timeScale ?? 1 });
    this.random = options.random ?? seededRandom(options.seed ?? 1);
    this.link = { ...DEFAULT_LINK, ...options.link };
    this.log = (options.log ?? silentLogger).child({ component: 'ble-sim' });
  }

  get peripherals(): readonly SimPeripheral[] {
    return [...this.#peripherals.values()];
  }

  get(address: string): SimPeripheral | undefined {
    return this.#peripherals.get(address.toLowerCase());
  }

  /** Adds peripherals; their presence times count from the clock's zero. */
  add(...peripherals: SimPeripheral[]): void {
    if (this.#closed) throw new TypeError('the world is closed');
    for (const p of peripherals) {
      if (this.#peripherals.has(p.address)) throw new TypeError(`two peripherals with address ${p.address}`);
      this.#peripherals.set(p.address, p);
      const now = this.clock.monotonic();
      const timers: SimTimer[] = [];
      const { arriveAtMs, dwellMs } = p.presence;
      if (arriveAtMs > now) timers.push(this.clock.at(() => this.#arrive(p), arriveAtMs));
      else if (p.inRangeAt(now)) this.#arrive(p);
      if (dwellMs !== undefined) {
        const departAt = arriveAtMs + dwellMs;
        if (departAt > now) timers.push(this.clock.at(() => this.#depart(p), departAt));
      }
      this.#timers.set(p, timers);
    }
  }

  /** Takes a peripheral out of the world (it departs if it was in range). */
  remove(p: SimPeripheral): void {
    if (this.#peripherals.get(p.address) !== p) return;
    const wasInRange = this.inRange(p);
    for (const t of this.#timers.get(p) ?? []) t.cancel();
    this.#timers.delete(p);
    this.#peripherals.delete(p.address);
    if (wasInRange) this.emit('depart', p);
  }

  inRange(p: SimPeripheral): boolean {
    return this.#peripherals.get(p.address) === p && p.inRangeAt(this.clock.monotonic());
  }

  /** One RSSI sample: the peripheral's mean at this moment plus Gaussian noise. */
  rssi(p: SimPeripheral): number {
    const mean = p.meanRssi(this.clock.monotonic());
    if (p.rssiNoiseDb <= 0) return mean;
    // Box-Muller; 1 - u keeps the logarithm finite.
    const u = 1 - this.random();
    const v = this.random();
    return mean + p.rssiNoiseDb * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Link parameters of connections to `p`. */
  linkFor(p: SimPeripheral): LinkParams {
    return { ...this.link, ...p.link };
  }

  /** Stops the presence timers. */
  close(): void {
    this.#closed = true;
    for (const timers of this.#timers.values()) for (const t of timers) t.cancel();
    this.#timers.clear();
  }

  #arrive(p: SimPeripheral): void {
    this.log.debug({ peripheral: p.name }, 'peripheral in range');
    this.emit('arrive', p);
  }

  #depart(p: SimPeripheral): void {
    this.log.debug({ peripheral: p.name }, 'peripheral out of range');
    this.emit('depart', p);
  }
}
