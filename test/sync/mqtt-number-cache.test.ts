import { createRequire } from 'node:module';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import { makeSyncWorld, seedOutbox, startEngine, startTestExchange, waitFor } from '../helpers/sync-world.js';

// The table mqtt-packet would build at the first packet: 65,536 Buffers for the process's life.
const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };

t.test('neither the sync nor the exchange makes mqtt-packet build its table of 65,536 numbers', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  await startTestExchange(t, world, broker.url);
  const { store } = openTestStore(t, { clock: systemClock });
  seedOutbox(store, 40);
  await startEngine(t, world, store, [broker.url]);
  await waitFor(() => store.outbox.status(Date.now()).counts.acknowledged === 40, 30_000, 'the drain');
  t.equal(Object.keys(numbers.cache).length, 0, 'no number table: each number written as it comes');
});
