import type { Clock } from '../clock.js';

export interface LoginLimitOptions {
  /** Failed logins allowed per client address and per account within the window. Default 5. */
  maxFailures?: number;
  /** Default 15 min: after the window the count starts again. */
  windowMs?: number;
}

interface Bucket {
  failures: number;
  windowStart: number;
}

/** Keys tracked at most, so a flood of addresses cannot grow memory without bound. */
const MAX_KEYS = 10_000;

/**
 * Slows password guessing: after `maxFailures` failed logins from one address, or against
 * one account, further attempts are refused without checking the password until the
 * window has passed. Counting the account too stops a guesser spread over many addresses;
 * the lock-out is temporary so an attacker cannot lock an officer out for good.
 */
export class LoginLimiter {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(clock: Clock, options: LoginLimitOptions = {}) {
    this.#clock = clock;
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
  }

  /** 0 when an attempt may go ahead, else the ms until it may. */
  retryAfterMs(keys: readonly string[]): number {
    const now = this.#clock.now();
    let wait = 0;
    for (const key of keys) {
      const bucket = this.#live(key, now);
      if (bucket && bucket.failures >= this.#max) {
        wait = Math.max(wait, bucket.windowStart + this.#windowMs - now);
      }
    }
    return wait;
  }

  failed(keys: readonly string[]): void {
    const now = this.#clock.now();
    for (const key of keys) {
      const bucket = this.#live(key, now);
      if (bucket) bucket.failures++;
      else {
        if (this.#buckets.size >= MAX_KEYS) this.#prune(now);
        this.#buckets.set(key, { failures: 1, windowStart: now });
      }
    }
  }

  /** A successful login clears its account's count (not the address's). */
  succeeded(key: string): void {
    this.#buckets.delete(key);
  }

  #live(key: string, now: number): Bucket | undefined {
    const bucket = this.#buckets.get(key);
    if (bucket && now - bucket.windowStart >= this.#windowMs) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (now - bucket.windowStart >= this.#windowMs) this.#buckets.delete(key);
    }
    // Still full: forget the oldest half rather than refuse to count new addresses.
    if (this.#buckets.size >= MAX_KEYS) {
      let n = Math.floor(MAX_KEYS / 2);
      for (const key of this.#buckets.keys()) {
        if (n-- <= 0) break;
        this.#buckets.delete(key);
      }
    }
  }
}
