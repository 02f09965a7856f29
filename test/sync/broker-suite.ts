/**
 * The sync tests every broker must pass (STYLE.md: one shared suite every implementation
 * runs): a drain settled by signed receipts, the broker SIGKILLed mid-drain and restarted,
 * the agent SIGKILLed again and again mid-drain, and the last will. The *.test.ts files run
 * them against mosquitto and ejabberd (test/helpers/sync-brokers.ts). Nothing here depends
 * on how fast the machine is: every wait is for a state, with a generous safety timeout.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Test } from 'tap';
import { systemClock } from '../../src/clock.js';
import {
  decodeStatus,
  type GatewayStatus,
  gatewayTopic,
  openReceipt,
} from '../../src/exchange-wire/index.js';
import { seededRandom } from '../../src/sim/prng.js';
import { type OutageRecord, openStore } from '../../src/store/index.js';
import { SyncEngine, type SyncEventMap } from '../../src/sync/index.js';
import { exited, spawnAgent } from '../helpers/agent-process.js';
import { captureLog } from '../helpers/log.js';
import { openTestStore } from '../helpers/store.js';
import {
  type SyncBroker,
  type SyncBrokerKind,
  startSyncBroker,
  TEST_GATEWAY_PASSWORD,
} from '../helpers/sync-brokers.js';
import {
  assertExactlyOnce,
  fixtureManifest,
  IDENTITY,
  ingestManifest,
  makeSyncWorld,
  type SyncWorld,
  seedOutbox,
  startTestExchange,
  testSyncConfig,
  waitFor,
} from '../helpers/sync-world.js';

const MANIFESTS = [
  'minimal.cose',
  'wheat-kostanay-urumqi.cose',
  'electronics-xian-duisburg.cose',
  'auto-parts-chongqing-almaty.cose',
  'consolidated-300.cose',
];

const STATUS_TOPIC = gatewayTopic(IDENTITY, 'status');

/** A broker and the parties of one test. */
async function setUp(
  t: Test,
  kind: SyncBrokerKind,
  options: { persistence?: boolean; protocolVersion?: 4 | 5 } = {},
) {
  const world = makeSyncWorld(t);
  const broker = await startSyncBroker(t, world, kind, options);
  const exchange = await startTestExchange(t, world, broker.url, {
    ...broker.exchange,
    ...(options.protocolVersion ? { protocolVersion: options.protocolVersion } : {}),
  });
  return { world, broker, exchange };
}

/** A client with the exchange's rights that records every status of the gateway, retained ones included. */
async function watchStatus(t: Test, broker: SyncBroker, protocolVersion: 4 | 5 = 5) {
  const client: MqttClient = await connectAsync(broker.url, {
    ...broker.observer(`ctop-test-observer-${process.pid}-${Math.random().toString(36).slice(2)}`),
    protocolVersion,
    reconnectPeriod: 0,
  });
  t.teardown(() => client.endAsync());
  const seen: GatewayStatus[] = [];
  client.on('message', (_topic, payload) => seen.push(decodeStatus(payload)));
  await client.subscribeAsync(STATUS_TOPIC, { qos: 1 });
  return { client, seen };
}

/** Manifests and records drained, each row settled by the exchange's signed receipt for its content. */
export async function drainWithReceipts(
  t: Test,
  kind: SyncBrokerKind,
  protocolVersion: 4 | 5,
): Promise<void> {
  const { broker, world, exchange } = await setUp(t, kind, { protocolVersion });
  const { store } = openTestStore(t, { clock: systemClock });
  const manifestRows = MANIFESTS.map((name, i) =>
    ingestManifest(store, fixtureManifest(name), world.agentTrust, i + 1),
  );
  const pairingRows = seedOutbox(store, 20);
  const total = manifestRows.length + pairingRows.length;
  const { log, lines } = captureLog('trace');
  const engine = new SyncEngine({
    store,
    gatewayKey: world.gatewayKey,
    trust: world.agentTrust,
    config: testSyncConfig([broker.url], { ...broker.agent, protocolVersion }),
    log,
  });
  const receipts: SyncEventMap['receipt'][0][] = [];
  engine.on('receipt', (r) => receipts.push(r));
  await engine.start();
  t.teardown(() => engine.stop());

  await waitFor(
    () => store.outbox.status(Date.now()).counts.acknowledged === total,
    60_000,
    'every row acknowledged',
  );
  const status = engine.status();
  t.equal(status.connected, true);
  t.equal(status.backlog, 0);
  t.equal(status.inFlight, 0);
  t.equal(status.protocolVersion, protocolVersion);

  const atExchange = exchange.db.all();
  t.equal(atExchange.length, total, 'the exchange holds each message once');
  t.equal(new Set(atExchange.map((m) => m.messageId)).size, total);
  t.same(exchange.db.rejections(), []);
  const manifests = atExchange.filter((m) => m.kind === 'manifest');
  t.equal(manifests.length, MANIFESTS.length);
  for (const m of manifests) {
    t.equal(m.verification, 'valid', `${m.manifestId} verified by the exchange`);
    t.match(m.container, /^[A-Z]{4}\d{7}$/);
  }
  for (const id of [...manifestRows, ...pairingRows]) {
    const row = store.outbox.get(id)!;
    t.equal(row.state, 'acknowledged');
    t.match(row.messageId, /^urn:uuid:[0-9a-f-]{36}$/);
    const { receipt } = openReceipt(row.receipt!.bytes);
    const result = receipt.results.find((r) => r.messageId === row.messageId)!;
    t.equal(result.status, 'accepted', 'the stored receipt is the signed answer for this very row');
    t.ok(Buffer.from(result.payloadSha256).equals(row.payloadSha256));
    t.equal(receipt.to, `CTOP://KZ/DOSTYK/${IDENTITY.gatewayId}`);
  }
  t.equal(receipts.length, total);
  t.ok(receipts.every((r) => r.status === 'accepted' && !r.duplicate && r.changed));
  const [day] = store.exchangeStats.list();
  await engine.stop();
  const [after] = store.exchangeStats.list();
  t.equal(after!.receiptsAccepted, total, 'per-day statistics count every accepted receipt');
  t.ok(after!.messagesSent >= total);
  t.ok(after!.bytesSent > 0);
  t.ok(day === undefined || day.receiptsAccepted <= total);

  // The retained status says the gateway went offline on purpose.
  const watcher = await watchStatus(t, broker, protocolVersion);
  await waitFor(() => watcher.seen.length > 0, 30_000, 'the retained status');
  t.equal(watcher.seen[0]!.state, 'offline');
  t.equal(watcher.seen[0]!.reason, 'stopped');
  t.equal(watcher.seen[0]!.backlog, 0);

  t.ok(
    lines.some((l) => l.includes('"connected"')),
    'the engine logged at trace level',
  );
  t.notOk(
    lines.some((l) => l.includes(TEST_GATEWAY_PASSWORD)),
    'the broker password is in no log line, at any level',
  );
}

/**
 * The broker SIGKILLed mid-drain and restarted: everything delivered once. A broker that
 * keeps sessions in memory only (ejabberd) comes back without them: the agent sees
 * sessionPresent false and sends again what was in flight; whatever it sent before the
 * exchange had subscribed again is sent once more after the receipt timeout.
 */
export async function brokerRestartMidDrain(
  t: Test,
  kind: SyncBrokerKind,
  persistence = false,
): Promise<void> {
  const { broker, world, exchange } = await setUp(t, kind, { persistence });
  const { store } = openTestStore(t, { clock: systemClock, backoff: { baseMs: 100, maxMs: 400 } });
  const total = 600;
  seedOutbox(store, total, { size: 512 });
  const engine = new SyncEngine({
    store,
    gatewayKey: world.gatewayKey,
    trust: world.agentTrust,
    config: testSyncConfig([broker.url], { ...broker.agent, claimBatch: 16, maxInFlight: 32 }),
  });
  const outages: OutageRecord[] = [];
  const connected: SyncEventMap['connected'][0][] = [];
  let timedOut = 0;
  engine.on('outage-end', (o) => outages.push(o));
  engine.on('connected', (c) => connected.push(c));
  engine.on('retry', (r) => {
    if (r.reason.startsWith('no receipt')) timedOut++;
  });
  await engine.start();
  t.teardown(() => engine.stop());

  const acknowledged = () => store.outbox.status(Date.now()).counts.acknowledged;
  await waitFor(() => acknowledged() >= 100, 60_000, 'the drain to be under way');
  await broker.kill('SIGKILL');
  const killedAt = acknowledged();
  t.ok(killedAt < total, `killed mid-drain (${killedAt} of ${total} acknowledged)`);
  await waitFor(() => engine.status().currentOutage !== undefined, 30_000, 'the outage to be recorded');
  t.equal(engine.status().connected, false);
  const before = connected.length;
  await broker.restart();

  await waitFor(
    () => acknowledged() === total + outages.length && outages.length > 0,
    120_000,
    'the rest and the outage report acknowledged',
  );
  await waitFor(() => exchange.db.outageReports().length === 1, 30_000, 'the outage report at the exchange');
  assertExactlyOnce(t, store, exchange);
  const [outage] = store.outages.list();
  t.equal(outage!.cause, 'connection_lost');
  t.ok(outage!.endedAt! > outage!.startedAt);
  t.ok(outage!.reportedAt);
  const [reported] = exchange.db.outageReports();
  t.equal(reported!.outageId, outage!.id);
  t.equal(reported!.startedAt, outage!.startedAt);
  t.equal(reported!.endedAt, outage!.endedAt);
  t.equal(reported!.cause, 'connection_lost');
  const again = connected.slice(before);
  t.ok(again.length > 0, 'connected again');
  if (!broker.persistentSessions) {
    t.equal(again[0]!.sessionPresent, false, 'the broker came back without the session');
  }
  t.comment(`${broker.name}: ${timedOut} sends waited out the receipt timeout after the restart`);
}

/** The agent process SIGKILLed at random instants of a drain: 0 lost, 0 duplicated at the exchange. */
export async function agentKilledMidDrain(t: Test, kind: SyncBrokerKind, kills: number): Promise<void> {
  const seed = Number(process.env.CTOP_SYNC_KILL_SEED ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (CTOP_SYNC_KILL_SEED replays the run)`);
  const random = seededRandom(seed);
  const { broker, world, exchange } = await setUp(t, kind);
  const db = path.join(world.dir, 'agent.db');
  const store = openStore({ path: db, clock: systemClock });
  t.teardown(() => store.close());
  seedOutbox(store, 1000);
  const config = childConfig(world, db, broker, { claimBatch: 8, maxInFlight: 16, receiptTimeoutMs: 1000 });
  const children = new Set<ReturnType<typeof spawnAgent>['child']>();
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  const unacknowledged = () => {
    const { counts } = store.outbox.status(Date.now());
    return counts.queued + counts.in_flight;
  };

  let killed = 0;
  let topUps = 0;
  // The next agent loads its modules while the current one drains; it touches the store
  // only once told to go, after the current one is dead.
  let next = spawnAgent(config);
  children.add(next.child);
  while (killed < kills) {
    const current = next;
    await current.loaded;
    current.go();
    next = spawnAgent(config);
    children.add(next.child);
    await current.ready;
    await new Promise((r) => setTimeout(r, Math.floor(random() * 1000)));
    const waiting = unacknowledged();
    current.child.kill('SIGKILL');
    await exited(current.child);
    children.delete(current.child);
    if (waiting > 0) killed++;
    if (unacknowledged() === 0) seedOutbox(store, 400, { tag: `top-up-${++topUps}` });
  }
  t.comment(`${killed} kills during the drain, ${topUps} top-ups`);

  const last = next;
  await last.loaded;
  last.go();
  await last.ready;
  await waitFor(() => unacknowledged() === 0, 120_000, 'the last run to drain everything', 50);
  last.child.kill('SIGTERM');
  t.equal(await exited(last.child), 0, 'a graceful stop exits 0');
  children.delete(last.child);

  t.equal(killed, kills);
  assertExactlyOnce(t, store, exchange);
  t.same(exchange.db.rejections(), [], 'nothing rejected');
  t.ok(
    exchange.stats.duplicates > 0,
    `resends after the kills arrived (${exchange.stats.duplicates}) and were recorded once`,
  );
}

/**
 * The last will: an agent that dies without a word leaves the retained status offline,
 * reason lost, published by the broker — through the broker's ACL, on the gateway's topic.
 */
export async function lastWill(t: Test, kind: SyncBrokerKind): Promise<void> {
  const { broker, world } = await setUp(t, kind);
  const db = path.join(world.dir, 'agent.db');
  const store = openStore({ path: db, clock: systemClock });
  seedOutbox(store, 3);
  store.close();
  const watcher = await watchStatus(t, broker);
  const agent = spawnAgent(childConfig(world, db, broker, {}));
  t.teardown(() => {
    agent.child.kill('SIGKILL');
  });
  await agent.loaded;
  agent.go();
  await waitFor(() => watcher.seen.some((s) => s.state === 'online'), 60_000, 'the online status');
  const online = watcher.seen.find((s) => s.state === 'online')!;
  t.equal(online.from, `CTOP://KZ/DOSTYK/${IDENTITY.gatewayId}`);
  t.equal(online.reason, 'connected');
  agent.child.kill('SIGKILL');
  await exited(agent.child);
  await waitFor(() => watcher.seen.some((s) => s.state === 'offline'), 60_000, 'the last will');
  const will = watcher.seen.find((s) => s.state === 'offline')!;
  t.equal(will.reason, 'lost', 'the will says the connection was lost, not stopped');
  t.equal(will.from, online.from);

  // Retained: whoever looks later sees it too.
  const later = await watchStatus(t, broker);
  await waitFor(() => later.seen.length > 0, 30_000, 'the retained will');
  t.equal(later.seen[0]!.state, 'offline');
  t.equal(later.seen[0]!.reason, 'lost');
}

/** A wrong password is refused by the broker (outage cause broker_refused), and written nowhere. */
export async function wrongPassword(t: Test, kind: SyncBrokerKind): Promise<void> {
  const { broker, world } = await setUp(t, kind);
  const wrong = path.join(world.dir, 'wrong-password');
  writeFileSync(wrong, 'not the password\n', { mode: 0o600 });
  const { store } = openTestStore(t, { clock: systemClock });
  seedOutbox(store, 1);
  const { log, lines } = captureLog('trace');
  const engine = new SyncEngine({
    store,
    gatewayKey: world.gatewayKey,
    trust: world.agentTrust,
    config: testSyncConfig([broker.url], { ...broker.agent, passwordFile: wrong }),
    log,
  });
  const outages: OutageRecord[] = [];
  engine.on('outage-start', (o) => outages.push(o));
  await engine.start();
  t.teardown(() => engine.stop());
  await waitFor(() => outages.length > 0, 30_000, 'the outage');
  await engine.stop();
  t.equal(outages[0]!.cause, 'broker_refused', `refused by the broker: ${outages[0]!.detail}`);
  t.match(outages[0]!.detail ?? '', /CONNACK (4|5|134|135)\b/, 'the CONNACK reason is recorded');
  t.equal(store.outbox.status(Date.now()).counts.acknowledged, 0);
  t.notOk(
    lines.some((l) => l.includes('not the password')),
    'the password is in no log line, at any level',
  );
  t.notOk(
    (outages[0]!.detail ?? '').includes('not the password'),
    'nor in the outage the exchange is told of',
  );
}

/** The agent-child configuration file for `broker`. */
function childConfig(
  world: SyncWorld,
  db: string,
  broker: SyncBroker,
  tuning: Parameters<typeof testSyncConfig>[1],
): string {
  const file = path.join(world.dir, `agent-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      db,
      gatewayKey: world.files.gatewayKey,
      trust: world.files.agentTrust,
      sync: testSyncConfig([broker.url], { ...broker.agent, ...tuning }),
      backoff: { baseMs: 50, maxMs: 200 },
    }),
  );
  return file;
}
