import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import type { OutageRecord } from '../../src/store/index.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  makeSyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';

/** aedes 1.x, the embedded broker of `npm start`, on a free loopback port. */
async function startAedes(t: Parameters<typeof makeSyncWorld>[0]): Promise<{ url: string; server: Server }> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return { url: `mqtt://127.0.0.1:${port}`, server };
}

t.test(
  'aedes speaks MQTT 3.1.1 only: the agent in 3.1.1 mode drains with the same end-to-end receipts',
  async (t) => {
    const { url } = await startAedes(t);
    const world = makeSyncWorld(t);
    const exchange = await startTestExchange(t, world, url, { protocolVersion: 4 });
    const { store } = openTestStore(t, { clock: systemClock });
    seedOutbox(store, 25);
    await startEngine(t, world, store, [url], { protocolVersion: 4 });
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 25,
      15_000,
      'the drain over aedes',
    );
    assertExactlyOnce(t, store, exchange);
  },
);

t.test(
  'aedes refuses MQTT 5 in CONNACK (node_modules/aedes/lib/handlers/connect.js): an outage, cause broker_refused',
  async (t) => {
    const { url } = await startAedes(t);
    const world = makeSyncWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    const engine = await startEngine(t, world, store, [url], { protocolVersion: 5 });
    const outages: OutageRecord[] = [];
    engine.on('outage-start', (o) => outages.push(o));
    await waitFor(() => outages.length > 0, 10_000, 'the outage');
    t.equal(outages[0]!.cause, 'broker_refused');
    t.match(outages[0]!.detail, /CONNACK/);
  },
);
