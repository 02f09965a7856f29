/**
 * Safety nets for waits. A test states how long a wait takes at most on an idle machine;
 * the helpers that wait for something (`waitFor`, the daemon's log waits, `scrapeUntil`, CLI
 * runs, mosquitto's start, the simulated radio's power-on) give up only after `PATIENCE`
 * times that. A net ends a wait that will never end; it never judges the machine, so it
 * sits an order of magnitude above the expected time (docs/TESTING.md). On a machine slower
 * still, raise CTOP_TEST_PATIENCE.
 */
export const PATIENCE = Number(process.env.CTOP_TEST_PATIENCE) || 10;

/** The safety net for a wait that takes at most `ms` on an idle machine. */
export function net(ms: number): number {
  return ms * PATIENCE;
}
