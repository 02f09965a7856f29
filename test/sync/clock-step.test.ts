import t, { type Test } from 'tap';

import type { Clock } from '../../src/clock.js';
import type { SyncEventMap } from '../../src/sync/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  makeSyncWorld,
  seedPayload,
  startEngine,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';

/**
 * The wall clock of a gateway is stepped (NTP after a long time without it, a GPS fix, an
 * operator's `date -s`); the soak found a backward step of 45 min leaving rows queued for
 * 45 min. Each test below waits a minute at most: without the fix the rows wait 45.
 */
const STEP_MS = 45 * 60_000;

/** The system clock with a wall-clock offset the test steps; the monotonic clock untouched. */
class SteppedClock implements Clock {
  offset = 0;
  now = () => Date.now() + this.offset;
  monotonic = () => performance.now();
}

/**
 * Broker, exchange (losing its first answer to every message: `seen` collects them), a
 * store 45 min ahead with `n` rows, and an engine on the same stepped clock.
 */
async function lostFirstReceipts(
  t: Test,
  tag: string,
  backoff: { baseMs: number; maxMs: number },
  receiptTimeoutMs: number,
) {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const seen = new Set<string>();
  const exchange = await startTestExchange(t, world, broker.url, {
    faults: { dropReceipt: firstReceiptLost(seen) },
  });
  const clock = new SteppedClock();
  clock.offset = STEP_MS;
  const { store } = openTestStore(t, { clock, backoff });
  const ids = seed(store, clock, 12, tag);
  const retries: SyncEventMap['retry'][0][] = [];
  const engine = await startEngine(
    t,
    world,
    store,
    [broker.url],
    { receiptTimeoutMs, noReceiptOutageMs: 120_000 },
    { clock },
  );
  engine.on('retry', (r) => retries.push(r));
  return { exchange, clock, store, ids, seen, retries };
}

/** Drops the exchange's first answer to every message; `seen` is every message it got. */
function firstReceiptLost(seen: Set<string>) {
  return (messageId: string): boolean => {
    if (seen.has(messageId)) return false;
    seen.add(messageId);
    return true;
  };
}

function seed(
  store: ReturnType<typeof openTestStore>['store'],
  clock: Clock,
  n: number,
  tag: string,
): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++)
    ids.push(store.outbox.enqueue('pairing', seedPayload('pairing', i, tag, 'x'), { seq: i }, clock.now()));
  return ids;
}

t.test('a backward step while rows wait for their retry: they keep the wait they had left', async (t) => {
  // Each row goes back to the queue with a backoff of 2-4 s after its lost receipt.
  const { exchange, clock, store, ids, retries } = await lostFirstReceipts(
    t,
    'retry-wait',
    { baseMs: 4000, maxMs: 8000 },
    400,
  );
  await waitFor(() => retries.length >= ids.length, 30_000, 'every row retried after its lost receipt');
  t.ok(
    ids.every((id) => store.outbox.get(id)!.nextAttemptAt > Date.now() + STEP_MS / 2),
    'scheduled on the wall clock before the step',
  );

  clock.offset = 0;
  await waitFor(
    () => store.outbox.status(clock.now()).counts.acknowledged === ids.length,
    60_000,
    'every row acknowledged after the step back',
  );
  assertExactlyOnce(t, store, exchange);
});

t.test('a backward step while messages wait for their receipt: the receipt timeout still runs', async (t) => {
  const { exchange, clock, store, ids, seen, retries } = await lostFirstReceipts(
    t,
    'receipt-wait',
    { baseMs: 200, maxMs: 400 },
    8000,
  );
  await waitFor(() => seen.size === ids.length, 30_000, 'every message at the exchange, its receipt lost');

  clock.offset = 0;
  await waitFor(
    () => store.outbox.status(clock.now()).counts.acknowledged === ids.length,
    60_000,
    'every row acknowledged after the step back',
  );
  t.ok(retries.length >= ids.length, `${retries.length} resends after the receipt timeout`);
  assertExactlyOnce(t, store, exchange);
});

t.test('rows queued before a backward step while the daemon was down are due at start', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const exchange = await startTestExchange(t, world, broker.url);
  const clock = new SteppedClock();
  clock.offset = STEP_MS;
  const { store } = openTestStore(t, { clock });
  const ids = seed(store, clock, 12, 'down');
  clock.offset = 0;
  await startEngine(t, world, store, [broker.url], {}, { clock });
  await waitFor(
    () => store.outbox.status(clock.now()).counts.acknowledged === ids.length,
    60_000,
    'every row acknowledged',
  );
  assertExactlyOnce(t, store, exchange);
});
