import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient, type Packet } from 'mqtt';
import t, { type Test } from 'tap';
import { storePublishesWithoutCopy } from '../../src/sync/mqtt-publish-copy.js';
import { startMosquitto } from '../helpers/mosquitto.js';

/** What mqtt.js's default outgoing store holds, by packet id. */
const stored = (client: MqttClient): Map<number, Packet & { payload?: Buffer }> =>
  (client.outgoingStore as unknown as { _inflights: Map<number, Packet & { payload?: Buffer }> })._inflights;

async function pair(t: Test, url: string) {
  const publisher = await connectAsync(url, {
    protocolVersion: 5,
    clientId: `pub-${process.pid}`,
    clean: true,
  });
  const subscriber = await connectAsync(url, {
    protocolVersion: 5,
    clientId: `sub-${process.pid}`,
    clean: true,
  });
  t.teardown(async () => {
    await publisher.endAsync(true);
    await subscriber.endAsync(true);
  });
  const received: Buffer[] = [];
  subscriber.on('message', (_topic, payload) => received.push(payload));
  await subscriber.subscribeAsync('copy/#', { qos: 1 });
  return { publisher, received };
}

t.test('a QoS 1 publish is stored as sent, not copied, and still arrives and is acknowledged', async (t) => {
  const broker = await startMosquitto(t);
  const { publisher, received } = await pair(t, broker.url);
  t.ok(storePublishesWithoutCopy(publisher), 'this mqtt.js has the step');
  const payload = randomBytes(9000);
  const acked = publisher.publishAsync('copy/a', payload, { qos: 1 });
  const inStore = [...stored(publisher).values()];
  t.equal(inStore.length, 1, 'in the outgoing store until its PUBACK');
  t.equal(inStore[0]!.payload, payload, 'the very buffer sent, not a copy of it');
  await acked;
  t.equal(stored(publisher).size, 0, 'the PUBACK removed it');
  await waitUntil(() => received.length === 1);
  t.ok(received[0]!.equals(payload), 'the subscriber got the bytes');
});

t.test('without the step mqtt.js copies (so the test above can fail)', async (t) => {
  const broker = await startMosquitto(t);
  const { publisher } = await pair(t, broker.url);
  const payload = randomBytes(9000);
  const acked = publisher.publishAsync('copy/b', payload, { qos: 1 });
  const [packet] = [...stored(publisher).values()];
  t.not(packet!.payload, payload, 'a copy');
  t.ok(packet!.payload!.equals(payload), 'of the same bytes');
  await acked;
});

t.test('a publish with a topic alias takes mqtt.js own path (its stored copy names the topic)', async (t) => {
  const broker = await startMosquitto(t);
  const { publisher, received } = await pair(t, broker.url);
  storePublishesWithoutCopy(publisher);
  const payload = randomBytes(100);
  const acked = publisher.publishAsync('copy/alias', payload, { qos: 1, properties: { topicAlias: 1 } });
  const [packet] = [...stored(publisher).values()];
  t.not(packet!.payload, payload, 'copied');
  t.equal((packet as { topic?: string }).topic, 'copy/alias');
  t.equal(
    (packet as { properties?: { topicAlias?: number } }).properties?.topicAlias,
    undefined,
    'alias removed from the copy',
  );
  await acked;
  await waitUntil(() => received.length === 1);
  t.ok(received[0]!.equals(payload));
});

t.test('an mqtt.js without the step is left as it is', async (t) => {
  const client = { outgoingStore: { put: () => undefined } } as unknown as MqttClient;
  t.equal(storePublishesWithoutCopy(client), false);
  t.equal((client as unknown as { _storeAndSend?: unknown })._storeAndSend, undefined);
});

async function waitUntil(done: () => boolean): Promise<void> {
  const until = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
