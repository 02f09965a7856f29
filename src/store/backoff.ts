/** Retry pacing of the outbox: exponential with jitter, so a gateway fleet coming back online does not resend in lockstep. */
export interface BackoffOptions {
  /** Delay after the first failed attempt. Default 5 s. */
  baseMs?: number;
  /** Longest delay. Default 15 min. */
  maxMs?: number;
  /** Uniform in [0, 1); injected by tests. Default Math.random. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { baseMs: 5_000, maxMs: 15 * 60_000 } as const;

/**
 * Delay before attempt `attempts + 1`: base × 2^(attempts − 1) capped at max, then
 * "equal jitter" — half fixed, half random — so it never collapses to zero.
 */
export function backoffDelay(attempts: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const max = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const exponential = Math.min(max, base * 2 ** Math.max(0, Math.min(attempts - 1, 40)));
  const random = (options.random ?? Math.random)();
  return Math.round(exponential / 2 + (random * exponential) / 2);
}
