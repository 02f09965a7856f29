import { readFileSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { Ed25519Signer, sealEnvelope } from '../../src/exchange-wire/index.js';
import { mosquittoAcl } from '../../src/reference-exchange/index.js';
import { type OutageRecord, openStore } from '../../src/store/index.js';
import { SyncEngine } from '../../src/sync/index.js';
import { envelopeFor, messageIdOf } from '../../src/sync/outbox-envelope.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { makeTestPki } from '../helpers/pki.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  makeSyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  testSyncConfig,
  waitFor,
} from '../helpers/sync-world.js';

/** One broker with a TLS listener, client certificates required, and the topic ACL. */
async function tlsWorld(t: Parameters<typeof makeTestPki>[0] & Parameters<typeof startMosquitto>[0]) {
  const pki = makeTestPki(t);
  const broker = await startMosquitto(t, {
    tls: { caFile: pki.caFile, ...pki.server, acl: mosquittoAcl({ exchangeUser: 'exchange' }) },
  });
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const world = makeSyncWorld(t);
  const exchange = await startTestExchange(t, world, url, {
    tls: { caFile: pki.caFile, ...pki.client('exchange') },
  });
  return { pki, broker, url, world, exchange };
}

/** A raw mqtt.js client with a certificate, to act as a gateway outside the agent. */
function rawClient(
  url: string,
  caFile: string,
  cert: { certFile: string; keyFile: string },
  clientId: string,
) {
  return connectAsync(url, {
    clientId,
    protocolVersion: 5,
    ca: readFileSync(caFile),
    cert: readFileSync(cert.certFile),
    key: readFileSync(cert.keyFile),
    rejectUnauthorized: true,
    reconnectPeriod: 0,
  });
}

t.test(
  'TLS with client certificates: the gateway drains through the ACL; another gateway cannot publish or read in its subtree',
  async (t) => {
    const { pki, url, world, exchange } = await tlsWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    seedOutbox(store, 20);
    const engine = await startEngine(t, world, store, [url], {
      tls: { caFile: pki.caFile, ...pki.client('gw-dostyk-1') },
    });
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 20,
      15_000,
      'the drain over TLS',
    );
    assertExactlyOnce(t, store, exchange);

    // gw-altynkol-1 has a valid certificate of the same CA, and its key is known to the exchange.
    const otherKey = world.gatewayKeyFor('gw-altynkol-1');
    const intruder: MqttClient = await rawClient(
      url,
      pki.caFile,
      pki.client('gw-altynkol-1'),
      'ctop-gw-altynkol-1',
    );
    t.teardown(() => intruder.endAsync());
    const overheard: string[] = [];
    intruder.on('message', (topic) => overheard.push(topic));
    // mosquitto 2.0 grants the subscription and applies the read ACL to every delivery instead.
    await intruder.subscribeAsync(engine.config.topics.receipt, { qos: 1 });

    // A well-formed envelope in dostyk's name, published in dostyk's subtree with altynkol's certificate.
    const [forgedRow] = seedOutbox(store, 1, { tag: 'forged' }).map((id) => store.outbox.get(id)!);
    const from = engine.config.address;
    const messageId = messageIdOf(forgedRow!, from);
    const envelope = envelopeFor(
      forgedRow!,
      messageId,
      { from, to: 'CTOP://KZ/EXCHANGE', replyTo: engine.config.topics.receipt },
      Date.now(),
      1,
    );
    const before = exchange.stats.received;
    const publishInto = (topic: string, signer: Ed25519Signer) =>
      intruder.publishAsync(topic, sealEnvelope(signer, envelope), { qos: 1 }).then(
        (packet) => (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0,
        (err: { code?: number }) => err.code ?? -1,
      );
    const code = await publishInto('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing', new Ed25519Signer(otherKey));
    t.ok(code >= 0x80 || code === -1, `the broker refuses the publish (reason ${code})`);

    // Meanwhile dostyk itself goes on: its receipts reach it and nobody else.
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 21,
      15_000,
      'the real row acknowledged',
    );
    await new Promise((r) => setTimeout(r, 300));
    t.equal(exchange.stats.received - before, 1, 'the exchange saw only the genuine copy');
    t.same(overheard, [], 'no receipt of dostyk reached altynkol');

    // In its own subtree altynkol is an ordinary gateway: published, answered, read.
    const ownReceipts: string[] = [];
    intruder.on('message', (topic) => ownReceipts.push(topic));
    await intruder.subscribeAsync('ctop/v1/KZ/ALTYNKOL/gw-altynkol-1/receipt', { qos: 1 });
    const ownRow = { ...forgedRow!, routing: {} };
    const ownFrom = 'CTOP://KZ/ALTYNKOL/gw-altynkol-1';
    const own = envelopeFor(
      ownRow,
      messageIdOf({ ...ownRow, messageId: undefined }, ownFrom),
      {
        from: ownFrom,
        to: 'CTOP://KZ/EXCHANGE',
        replyTo: 'ctop/v1/KZ/ALTYNKOL/gw-altynkol-1/receipt',
      },
      Date.now(),
      1,
    );
    await intruder.publishAsync(
      'ctop/v1/KZ/ALTYNKOL/gw-altynkol-1/pairing',
      sealEnvelope(new Ed25519Signer(otherKey), own),
      { qos: 1 },
    );
    await waitFor(() => ownReceipts.length > 0, 5000, 'altynkol to get its own receipt');
    t.equal(exchange.db.all().filter((m) => m.sender === ownFrom).length, 1);
  },
);

t.test('a certificate from another CA, or none, never gets a session: outage cause tls', async (t) => {
  const { pki, url, world } = await tlsWorld(t);
  for (const [what, tls] of [
    ['a certificate from an unknown CA', { caFile: pki.caFile, ...pki.stranger('gw-dostyk-1') }],
    ['no client certificate', { caFile: pki.caFile }],
  ] as const) {
    const store = openStore({ path: `${world.dir}/${what.replace(/\W+/g, '-')}.db`, clock: systemClock });
    t.teardown(() => store.close());
    seedOutbox(store, 1);
    const engine = new SyncEngine({
      store,
      gatewayKey: world.gatewayKey,
      trust: world.agentTrust,
      config: testSyncConfig([url], { tls }),
    });
    const outages: OutageRecord[] = [];
    engine.on('outage-start', (o) => outages.push(o));
    await engine.start();
    await waitFor(() => outages.length > 0, 10_000, `${what}: the outage`);
    await engine.stop();
    t.equal(outages[0]!.cause, 'tls', `${what}: cause tls (${outages[0]!.detail})`);
    t.equal(store.outbox.status(Date.now()).counts.acknowledged, 0);
  }
});
