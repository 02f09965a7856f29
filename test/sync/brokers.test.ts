import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { isCtopError } from '../../src/errors.js';
import { generateKey } from '../../src/keys/index.js';
import type { OutageRecord } from '../../src/store/index.js';
import { resolveSyncConfig, SyncEngine, type SyncEventMap } from '../../src/sync/index.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  IDENTITY,
  makeSyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  testSyncConfig,
  waitFor,
} from '../helpers/sync-world.js';

t.test(
  'several brokers are tried in turn: an unresolvable name and a closed port, then the one that answers',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const exchange = await startTestExchange(t, world, broker.url);
    const { store } = openTestStore(t, { clock: systemClock });
    seedOutbox(store, 5);
    const closed = `mqtt://127.0.0.1:${await freePort()}`;
    const engine = await startEngine(
      t,
      world,
      store,
      ['mqtt://no-such-broker.invalid:1883', closed, broker.url],
      {
        outageGraceMs: 5000,
      },
    );
    const connected: SyncEventMap['connected'][0][] = [];
    engine.on('connected', (c) => connected.push(c));
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 5,
      15_000,
      'the drain via the third broker',
    );
    t.equal(engine.status().broker, broker.url);
    t.same(store.outages.list(), [], 'a failover within the grace time is no outage');
    assertExactlyOnce(t, store, exchange);
  },
);

t.test(
  'no broker at all: one outage with the first cause (dns), closed and reported when a broker comes',
  async (t) => {
    const port = await freePort();
    const world = makeSyncWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    seedOutbox(store, 3);
    const engine = await startEngine(t, world, store, [
      'mqtt://no-such-broker.invalid:1883',
      `mqtt://127.0.0.1:${port}`,
    ]);
    const started: OutageRecord[] = [];
    const ended: OutageRecord[] = [];
    engine.on('outage-start', (o) => started.push(o));
    engine.on('outage-end', (o) => ended.push(o));
    await waitFor(() => started.length === 1, 10_000, 'the outage');
    t.equal(started[0]!.cause, 'dns');
    t.match(started[0]!.detail, /no-such-broker\.invalid/);
    await new Promise((r) => setTimeout(r, 600));
    t.equal(store.outages.list().length, 1, 'retries do not open more outages');

    const broker = await startMosquitto(t, { port });
    const exchange = await startTestExchange(t, world, broker.url);
    await waitFor(() => ended.length === 1, 15_000, 'the outage to end');
    await waitFor(() => exchange.db.outageReports().length === 1, 15_000, 'the report at the exchange');
    const [report] = exchange.db.outageReports();
    t.equal(report!.cause, 'dns');
    t.equal(report!.startedAt, started[0]!.startedAt);
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 4,
      10_000,
      'rows and report acknowledged',
    );
    assertExactlyOnce(t, store, exchange);
    const status = engine.status();
    t.equal(status.currentOutage, undefined);
    t.equal(status.backlog, 0);
  },
);

t.test(
  'stop() loses nothing: what is in flight goes back to the queue and is sent once by the next run',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    const ids = seedOutbox(store, 10);
    // No exchange yet: nothing is answered.
    const first = new SyncEngine({
      store,
      gatewayKey: world.gatewayKey,
      trust: world.agentTrust,
      config: testSyncConfig([broker.url], { stopTimeoutMs: 200 }),
    });
    await first.start();
    await waitFor(() => first.status().inFlight === 10, 5000, 'all in flight');
    t.equal(store.outbox.status(Date.now()).counts.in_flight, 10);
    await first.stop();
    t.equal(first.status().running, false);
    const { counts } = store.outbox.status(Date.now());
    t.same([counts.queued, counts.in_flight], [10, 0], 'queued again, nothing lost');
    t.ok(
      ids.every((id) => store.outbox.get(id)!.messageId !== undefined),
      'the messageIds stay recorded',
    );

    const exchange = await startTestExchange(t, world, broker.url);
    await startEngine(t, world, store, [broker.url]);
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 10,
      10_000,
      'the next run drains',
    );
    assertExactlyOnce(t, store, exchange);
  },
);

t.test('configuration and keys are checked before anything connects', async (t) => {
  const world = makeSyncWorld(t);
  const { store } = openTestStore(t);
  const bad: [string, Partial<Parameters<typeof testSyncConfig>[1]> & { brokers?: string[] }][] = [
    ['no brokers', { brokers: [] }],
    ['a broker that is not a URL', { brokers: ['localhost'] }],
    ['a TLS broker without CA', { brokers: ['mqtts://broker:8883'] }],
    ['a country that is not ISO 3166', { country: 'KAZ' }],
    ['a checkpoint with a topic separator', { checkpoint: 'DOS/TYK' }],
    ['a gateway id with a wildcard', { gatewayId: 'gw+1' }],
    ['MQTT 3.1', { protocolVersion: 3 as 4 }],
    ['a receipt timeout of 0', { receiptTimeoutMs: 0 }],
    [
      'a certificate without its key',
      { brokers: ['mqtts://b:8883'], tls: { caFile: 'ca.pem', certFile: 'c.pem' } },
    ],
    ['an exchange address of another scheme', { exchangeAddress: 'EAEU://KZ/EXCHANGE' }],
  ];
  for (const [what, overrides] of bad) {
    const err = t.throws(
      () => resolveSyncConfig({ ...testSyncConfig(overrides.brokers ?? ['mqtt://b:1883']), ...overrides }),
      what,
    );
    t.ok(isCtopError(err, 'E_SYNC_CONFIG'), `${what}: E_SYNC_CONFIG`);
  }
  const tlsFiles = t.throws(
    () =>
      new SyncEngine({
        store,
        gatewayKey: world.gatewayKey,
        trust: world.agentTrust,
        config: testSyncConfig(['mqtts://b:8883'], { tls: { caFile: '/nonexistent/ca.pem' } }),
      }),
  );
  t.ok(isCtopError(tlsFiles, 'E_SYNC_CONFIG'), 'an unreadable CA file');
  const otherGateway = t.throws(
    () =>
      new SyncEngine({
        store,
        gatewayKey: generateKey('gateway', 'gw-altynkol-1'),
        trust: world.agentTrust,
        config: testSyncConfig(['mqtt://b:1883']),
      }),
  );
  t.ok(isCtopError(otherGateway, 'E_SYNC_CONFIG'), 'a key of another gateway');
  const wrongRole = t.throws(
    () =>
      new SyncEngine({
        store,
        gatewayKey: generateKey('signer', IDENTITY.gatewayId),
        trust: world.agentTrust,
        config: testSyncConfig(['mqtt://b:1883']),
      }),
  );
  t.ok(isCtopError(wrongRole, 'E_KEY_ROLE'), 'a key that is not a gateway key');
  const rotated = new SyncEngine({
    store,
    gatewayKey: generateKey('gateway', `${IDENTITY.gatewayId}.2026`),
    trust: world.agentTrust,
    config: testSyncConfig(['mqtt://b:1883']),
  });
  t.equal(
    rotated.config.clientId,
    IDENTITY.gatewayId,
    'a rotated key `{gateway}.{suffix}` is the gateway’s; the client id is the gateway id',
  );
  t.equal(rotated.config.topics.receipt, 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt');
});
