import { connect, connectAsync, type MqttClient } from 'mqtt';
import t from 'tap';
import { startMosquitto } from '../helpers/mosquitto.js';
import { makeSyncWorld, startTestExchange, waitFor } from '../helpers/sync-world.js';

const TOPIC = 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/manifest';
const BURST = 20;

t.test('a burst of messages gets its PUBACKs in one socket write, not one write each', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  let client: MqttClient | undefined;
  const exchange = await startTestExchange(t, world, broker.url, {
    connect: (url, options) => {
      client = connect(url, options);
      return client;
    },
  });
  const stream = client!.stream;
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = (stream as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
    if (!original) continue;
    (stream as unknown as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
  }

  // A witness subscribed to the same topic: once it has the whole burst, the broker has
  // written the whole burst to the exchange's socket too, where it waits while paused.
  const witness = await connectAsync(broker.url, { protocolVersion: 5, clientId: 'witness' });
  t.teardown(() => witness.endAsync());
  let witnessed = 0;
  witness.on('message', () => witnessed++);
  await witness.subscribeAsync(TOPIC, { qos: 1 });
  const gateway = await connectAsync(broker.url, { protocolVersion: 5, clientId: 'gateway' });
  t.teardown(() => gateway.endAsync());

  stream.pause();
  await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      gateway.publishAsync(TOPIC, Buffer.from(`not cbor ${i}`), { qos: 1 }),
    ),
  );
  await waitFor(() => witnessed === BURST, 30_000, 'the witness to have the burst');
  writes = 0;
  stream.resume();
  await waitFor(() => exchange.stats.received === BURST, 30_000, 'the exchange to have the burst');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(exchange.stats.unreadable, BURST, 'each message judged (unreadable)');
  t.ok(writes >= 1 && writes <= 2, `${writes} socket writes for ${BURST} PUBACKs`);
});
