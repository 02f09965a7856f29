/**
 * Envelope version 1.2 (EXCHANGE.md §3): a row's envelope is signed once, when the row is
 * made, and every copy of it — resends included — carries that one signature with its own
 * `sentAt` and `attempt` unprotected. What the gateway put on the wire is captured by a
 * second MQTT client on the broker and checked byte for byte.
 */
import { connectAsync } from 'mqtt';
import t, { type Test } from 'tap';
import { systemClock } from '../../src/clock.js';
import {
  CONTENT_TYPES,
  type OpenedEnvelope,
  openEnvelope,
  toBeSigned,
  verifyEd25519,
} from '../../src/exchange-wire/index.js';
import { generateKey, type PrivateKey, publicPart } from '../../src/keys/index.js';
import type { Store } from '../../src/store/index.js';
import { EnvelopeBuffers } from '../../src/sync/envelope-buffers.js';
import { SyncEngine } from '../../src/sync/index.js';
import { contextKey, decodeOutboxSeal } from '../../src/sync/outbox-seal.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  EXCHANGE_ADDRESS,
  IDENTITY,
  makeSyncWorld,
  type SyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  testSyncConfig,
  waitFor,
} from '../helpers/sync-world.js';

const UPSTREAM = `ctop/v1/${IDENTITY.country}/${IDENTITY.checkpoint}/${IDENTITY.gatewayId}/#`;
const CONTEXT = contextKey({
  from: 'CTOP://KZ/DOSTYK/gw-dostyk-1',
  to: EXCHANGE_ADDRESS,
  replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
});

/** Every envelope the gateway publishes, as received by another subscriber. */
async function captureEnvelopes(t: Test, url: string): Promise<{ bytes: Buffer; opened: OpenedEnvelope }[]> {
  const seen: { bytes: Buffer; opened: OpenedEnvelope }[] = [];
  const client = await connectAsync(url, { clientId: `capture-${process.pid}`, reconnectPeriod: 100 });
  t.teardown(() => client.endAsync(true));
  client.on('message', (_topic, bytes) => {
    try {
      const opened = openEnvelope(bytes);
      if (opened.signed.contentType === CONTENT_TYPES.envelope) seen.push({ bytes, opened });
    } catch {
      // status and other topics
    }
  });
  await client.subscribeAsync(UPSTREAM, { qos: 1 });
  return seen;
}

function engineOn(world: SyncWorld, store: Store, url: string, overrides = {}, key?: PrivateKey): SyncEngine {
  return new SyncEngine({
    store,
    gatewayKey: key ?? world.gatewayKey,
    trust: world.agentTrust,
    config: testSyncConfig([url], overrides),
  });
}

t.test('each row signed once when it is made; every copy, resends too, carries that signature', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const answered = new Map<string, number>();
  const exchange = await startTestExchange(t, world, broker.url, {
    // The first answer to every message never leaves the exchange: each is sent twice.
    faults: {
      dropReceipt: (id) => {
        const n = answered.get(id) ?? 0;
        answered.set(id, n + 1);
        return n < 1;
      },
    },
  });
  const seen = await captureEnvelopes(t, broker.url);
  const { store } = openTestStore(t, { clock: systemClock, backoff: { baseMs: 50, maxMs: 200 } });
  // The engine seals what the store makes from its construction on (the daemon's order).
  const engine = engineOn(world, store, broker.url, { receiptTimeoutMs: 400, noReceiptOutageMs: 60_000 });
  t.teardown(() => engine.stop());
  const ids = seedOutbox(store, 12, { size: 2000 });
  const seals = new Map(ids.map((id) => [id, decodeOutboxSeal(store.outbox.get(id)!.envelopeSeal, CONTEXT)]));
  t.ok(
    [...seals.values()].every((s) => s?.kid === world.gatewayKey.kid),
    'every new row keeps its envelope signed with the gateway key',
  );
  t.ok(
    ids.every((id) => store.outbox.get(id)!.messageId !== undefined),
    'and its messageId, recorded before any claim',
  );

  await engine.start();
  await waitFor(
    () => store.outbox.status(Date.now()).counts.acknowledged === ids.length,
    20_000,
    'all acknowledged',
  );
  assertExactlyOnce(t, store, exchange);
  const { envelopes } = engine.status();
  t.equal(envelopes.version, '1.2');
  t.equal(envelopes.signedWhenSent, 0, 'nothing signed while draining');
  t.ok(envelopes.signedWhenMade >= 2 * ids.length, `${envelopes.signedWhenMade} claims sent the stored seal`);
  for (const id of ids) {
    const row = store.outbox.get(id)!;
    const copies = seen.filter((c) => c.opened.envelope.messageId === row.messageId);
    t.ok(copies.length >= 2, `row ${id}: ${copies.length} copies`);
    t.same(
      copies.map((c) => c.opened.envelope.attempt),
      copies.map((_, i) => i + 1),
      'attempts count up copy by copy',
    );
    for (const { opened } of copies) {
      t.ok(
        Buffer.from(opened.signed.signature).equals(Buffer.from(seals.get(id)!.signature)),
        'the signature made with the row',
      );
      t.ok(verifyEd25519(toBeSigned(opened.signed), opened.signed.signature, world.gatewayKey.publicKey));
      t.equal(opened.signed.unprotected.get('attempt'), opened.envelope.attempt, 'attempt unprotected');
    }
  }
  store.retention();
  t.ok(
    ids.every((id) => store.outbox.get(id)!.envelopeSeal === undefined),
    'retention deletes the seals of acknowledged rows',
  );
  t.equal(store.db.prepare('SELECT count(*) FROM outbox_seal').pluck().get(), 0);
});

t.test('a seal that does not fit is not used: the row is signed when sent, and still arrives', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const rotated: PrivateKey = generateKey('gateway', `${IDENTITY.gatewayId}.2027`, { country: 'KZ' });
  world.exchangeTrust.add(publicPart(rotated));
  const exchange = await startTestExchange(t, world, broker.url);
  const seen = await captureEnvelopes(t, broker.url);
  const { store } = openTestStore(t, { clock: systemClock });

  // Sealed for another exchange address (a configuration changed since), damaged, and
  // sealed with the key a rotation then replaced.
  engineOn(world, store, broker.url, { exchangeAddress: 'CTOP://CN/EXCHANGE' });
  const [forElsewhere] = seedOutbox(store, 1, { tag: 'elsewhere' });
  const engine = engineOn(world, store, broker.url);
  t.teardown(() => engine.stop());
  const [damaged, beforeRotation] = seedOutbox(store, 2, { tag: 'here' });
  store.db.prepare('UPDATE outbox_seal SET seal = substr(seal, 1, 40) WHERE outbox_id = ?').run(damaged);
  engine.rotateGatewayKey(rotated);
  const [afterRotation] = seedOutbox(store, 1, { tag: 'after' });
  // The same content twice: the second row cannot have the first one's messageId (unique),
  // and is settled by its twin's receipt when claimed.
  const [twin] = seedOutbox(store, 1, { tag: 'after' });
  t.equal(store.outbox.get(twin!)!.messageId, undefined, 'a twin gets no messageId when made');
  t.ok(store.outbox.get(forElsewhere!)!.envelopeSeal, 'the other engine sealed its row');
  t.equal(
    decodeOutboxSeal(store.outbox.get(beforeRotation!)!.envelopeSeal, CONTEXT)?.kid,
    world.gatewayKey.kid,
    'a row made before the rotation is sealed with the old key',
  );
  t.equal(
    decodeOutboxSeal(store.outbox.get(afterRotation!)!.envelopeSeal, CONTEXT)?.kid,
    rotated.kid,
    'a row made after the rotation is sealed with the new key',
  );

  await engine.start();
  await waitFor(() => store.outbox.status(Date.now()).counts.acknowledged === 5, 20_000, 'all acknowledged');
  t.equal(exchange.db.all().length, 4, 'the twin is not sent: its content is already there');
  t.equal(seen.length, 4, 'one copy each');
  t.same(engine.status().envelopes, { version: '1.2', signedWhenSent: 3, signedWhenMade: 1 });
  for (const { opened } of seen) {
    t.equal(opened.signed.kid, rotated.kid, 'signed with the current key');
    t.equal(opened.envelope.to, 'CTOP://KZ/EXCHANGE', 'for the exchange configured now');
    t.ok(verifyEd25519(toBeSigned(opened.signed), opened.signed.signature, rotated.publicKey));
  }
});

t.test(
  'envelopeVersion 1.1: rows are not sealed; each copy is signed with sentAt and attempt in the body',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const exchange = await startTestExchange(t, world, broker.url);
    const seen = await captureEnvelopes(t, broker.url);
    const { store } = openTestStore(t, { clock: systemClock });
    const engine = await startEngine(t, world, store, [broker.url], { envelopeVersion: '1.1' });
    const ids = seedOutbox(store, 5);
    engine.kick();
    t.ok(
      ids.every((id) => store.outbox.get(id)!.envelopeSeal === undefined),
      'nothing sealed',
    );
    await waitFor(
      () => store.outbox.status(Date.now()).counts.acknowledged === 5,
      20_000,
      'all acknowledged',
    );
    assertExactlyOnce(t, store, exchange);
    t.equal(seen.length, 5);
    t.same(engine.status().envelopes, { version: '1.1', signedWhenSent: 5, signedWhenMade: 0 });
    for (const { opened } of seen) {
      t.equal(opened.signed.unprotected.size, 0, 'unprotected header empty');
      t.equal(opened.envelope.attempt, 1);
    }
  },
);

t.test('envelope bytes reused after their PUBACK: every copy on the wire is whole and its own', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const exchange = await startTestExchange(t, world, broker.url);
  const seen = await captureEnvelopes(t, broker.url);
  const { store } = openTestStore(t, { clock: systemClock });
  // A window of a few messages: most publishes reuse the bytes of one acknowledged before.
  const engine = engineOn(world, store, broker.url, { maxInFlight: 8, claimBatch: 8 });
  t.teardown(() => engine.stop());
  const ids = seedOutbox(store, 300, { size: 3000 });
  const reused = { count: 0 };
  const give = EnvelopeBuffers.prototype.give;
  EnvelopeBuffers.prototype.give = function (this: EnvelopeBuffers, bytes: Buffer) {
    const before = this.keptBytes;
    give.call(this, bytes);
    if (this.keptBytes > before) reused.count++;
  };
  t.teardown(() => {
    EnvelopeBuffers.prototype.give = give;
  });
  await engine.start();
  await waitFor(
    () => store.outbox.status(Date.now()).counts.acknowledged === ids.length,
    30_000,
    'all acknowledged',
  );
  assertExactlyOnce(t, store, exchange);
  t.ok(reused.count > ids.length / 2, `${reused.count} envelopes given back for reuse`);
  await waitFor(() => seen.length >= ids.length, 10_000, 'every copy captured');
  const byMessageId = new Map(ids.map((id) => [store.outbox.get(id)!.messageId!, id]));
  let whole = 0;
  for (const { opened } of seen) {
    const id = byMessageId.get(opened.envelope.messageId);
    if (id === undefined) continue;
    const ok =
      verifyEd25519(toBeSigned(opened.signed), opened.signed.signature, world.gatewayKey.publicKey) &&
      Buffer.from(opened.envelope.payload).equals(store.outbox.get(id)!.payload!);
    if (ok) whole++;
  }
  t.equal(whole, seen.length, 'each captured copy verifies and carries its own row’s payload');
});
