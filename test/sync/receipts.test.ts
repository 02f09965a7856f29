import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import t, { type Test } from 'tap';

import { systemClock } from '../../src/clock.js';
import {
  Ed25519Signer,
  openEnvelope,
  RECEIPT_ACTION,
  type ReceiptResult,
  signReceipt,
} from '../../src/exchange-wire/index.js';
import { generateKey, publicPart } from '../../src/keys/index.js';
import type { SyncEventMap } from '../../src/sync/index.js';
import { runCli } from '../helpers/cli.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  fixtureManifest,
  ingestManifest,
  makeSyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';

t.test('receipts lost: no receipt in time, resent under the same messageId, recorded once', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const dropped = new Map<string, number>();
  const exchange = await startTestExchange(t, world, broker.url, {
    // The first two answers to every message never leave the exchange.
    faults: {
      dropReceipt: (id) => {
        const n = dropped.get(id) ?? 0;
        dropped.set(id, n + 1);
        return n < 2;
      },
    },
  });
  const { store } = openTestStore(t, { clock: systemClock, backoff: { baseMs: 50, maxMs: 200 } });
  const ids = seedOutbox(store, 30);
  const engine = await startEngine(t, world, store, [broker.url], {
    receiptTimeoutMs: 400,
    noReceiptOutageMs: 60_000,
  });
  const retries: SyncEventMap['retry'][0][] = [];
  const receipts: SyncEventMap['receipt'][0][] = [];
  engine.on('retry', (r) => retries.push(r));
  engine.on('receipt', (r) => receipts.push(r));

  await waitFor(
    () => store.outbox.status(Date.now()).counts.acknowledged === ids.length,
    20_000,
    'all acknowledged',
  );
  assertExactlyOnce(t, store, exchange);
  t.ok(
    exchange.db.all().every((m) => m.duplicates >= 2),
    'every message arrived at least three times',
  );
  t.equal(exchange.stats.accepted, ids.length, 'recorded once each');
  t.ok(exchange.stats.duplicates >= 2 * ids.length);
  t.ok(retries.length >= 2 * ids.length, `${retries.length} resends after the receipt timeout`);
  const firstIds = new Map(ids.map((id) => [id, store.outbox.get(id)!.messageId]));
  for (const r of retries)
    t.equal(firstIds.get(r.outboxId), r.messageId, 'a resend carries the same messageId');
  t.ok(
    receipts.every((r) => r.duplicate),
    'the receipt that got through says duplicate',
  );
  for (const id of ids) t.ok(store.outbox.get(id)!.attempts >= 3);
  await engine.stop();
  const [day] = store.exchangeStats.list();
  t.ok(day!.resends >= 2 * ids.length, 'resends counted per day');
});

t.test('a rejection quarantines the row; it shows in the logs and in `outbox status`', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  // The exchange learnt of a key compromise the gateway has not heard of yet.
  world.exchangeTrust.revoke('cn-customs-signer-1', Date.UTC(2020, 0, 1), 'key compromise');
  const exchange = await startTestExchange(t, world, broker.url);
  const { store, path } = openTestStore(t, { clock: systemClock });
  const good = ingestManifest(store, fixtureManifest('wheat-kostanay-urumqi.cose'), world.agentTrust, 1);
  const refused = ingestManifest(
    store,
    fixtureManifest('electronics-xian-duisburg.cose'),
    world.agentTrust,
    2,
  );
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const engine = await startEngine(t, world, store, [broker.url], {}, { log });
  const rejections: SyncEventMap['rejection'][0][] = [];
  engine.on('rejection', (r) => rejections.push(r));

  await waitFor(
    () => {
      const { counts } = store.outbox.status(Date.now());
      return counts.acknowledged === 1 && counts.rejected === 1;
    },
    15_000,
    'one accepted, one rejected',
  );
  t.equal(store.outbox.get(good)!.state, 'acknowledged');
  const row = store.outbox.get(refused)!;
  t.equal(row.state, 'rejected');
  t.equal(row.receipt!.reasonCode, 'manifest_revoked');
  t.same(
    rejections.map((r) => [r.outboxId, r.reason]),
    [[refused, 'manifest_revoked']],
  );
  t.same(
    store.outbox.status(Date.now()).rejected.map((r) => [r.id, r.reasonCode]),
    [[refused, 'manifest_revoked']],
  );
  t.ok(
    lines.some((l) => l.includes('"reason":"manifest_revoked"') && l.includes('quarantined')),
    'the rejection is in the log with its reason',
  );
  t.same(
    exchange.db.rejections().map((r) => r.reason),
    ['manifest_revoked'],
  );
  await new Promise((r) => setTimeout(r, 300));
  t.equal(exchange.db.rejections().length, 1, 'a quarantined row is not sent again');
  await engine.stop();
  const cli = await runCli(['outbox', 'status', '--db', path]);
  t.equal(cli.code, 0);
  t.match(cli.stdout, /rejected\s+1/);
  t.match(cli.stdout, /manifest_revoked/);
});

t.test(
  'receipts that are forged, for another gateway or for other content are ignored, never acted on',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    const [id] = seedOutbox(store, 1);
    // No exchange: only the forger answers.
    const engine = await startEngine(t, world, store, [broker.url], { receiptTimeoutMs: 60_000 });
    await waitFor(() => store.outbox.get(id!)!.messageId !== undefined, 5000, 'the message sent');
    const row = store.outbox.get(id!)!;
    const ignored: SyncEventMap['receipt-ignored'][0][] = [];
    engine.on('receipt-ignored', (i) => ignored.push(i));

    const forger = await connectAsync(broker.url);
    t.teardown(() => forger.endAsync());
    const result = {
      messageId: row.messageId!,
      conversationId: row.messageId!,
      payloadSha256: row.payloadSha256,
      status: 'accepted' as const,
      receivedAt: Date.now(),
      duplicate: false,
    };
    const receipt = (signer: Ed25519Signer, over: Partial<typeof result> = {}, to = engine.config.address) =>
      signReceipt(signer, {
        action: RECEIPT_ACTION,
        from: 'CTOP://KZ/EXCHANGE',
        to,
        issuedAt: Date.now(),
        results: [{ ...result, ...over }],
      });
    const rogue = new Ed25519Signer(generateKey('exchange', 'kz-exchange-1'));
    const gatewayAsExchange = new Ed25519Signer(world.gatewayKey);
    const real = new Ed25519Signer(world.exchangeKey);
    const tampered = Buffer.from(receipt(real));
    tampered[tampered.length - 70]! ^= 1;
    const attempts: [string, Buffer, string][] = [
      ['a key with the exchange kid but another public key', receipt(rogue), 'E_SYNC_SIGNATURE'],
      ['the gateway key, not an exchange key', receipt(gatewayAsExchange), 'E_SYNC_SIGNATURE'],
      ['a genuine receipt with one bit flipped', tampered, 'E_SYNC_'],
      ['garbage', Buffer.from('not a receipt'), 'E_SYNC_MALFORMED'],
      [
        'addressed to another gateway',
        receipt(real, {}, 'CTOP://KZ/ALTYNKOL/gw-altynkol-1'),
        'E_SYNC_RECEIPT_MISMATCH',
      ],
      [
        'other content under the same messageId',
        receipt(real, { payloadSha256: Buffer.alloc(32, 7) }),
        'E_SYNC_RECEIPT_MISMATCH',
      ],
      [
        'a message never sent',
        receipt(real, { messageId: 'urn:uuid:00000000-0000-8000-8000-000000000000' }),
        'E_SYNC_RECEIPT_MISMATCH',
      ],
    ];
    for (const [what, bytes, code] of attempts) {
      const before = ignored.length;
      await forger.publishAsync(engine.config.topics.receipt, bytes, { qos: 1 });
      await waitFor(() => ignored.length > before, 5000, `${what} to be ignored`);
      t.match(ignored.at(-1)!.code, new RegExp(`^${code}`), what);
      t.equal(store.outbox.get(id!)!.state, 'in_flight', `${what}: the row is still waiting`);
    }
    await forger.publishAsync(engine.config.topics.receipt, receipt(real), { qos: 1 });
    await waitFor(
      () => store.outbox.get(id!)!.state === 'acknowledged',
      5000,
      'the genuine receipt to settle the row',
    );
  },
);

/** A client that keeps every envelope the gateway publishes, by messageId, as it went over the wire. */
async function copiesOnTheWire(t: Test, brokerUrl: string) {
  const spy = await connectAsync(brokerUrl);
  t.teardown(() => spy.endAsync());
  const copies = new Map<string, Buffer[]>();
  spy.on('message', (_topic, bytes) => {
    const { messageId } = openEnvelope(bytes).envelope;
    copies.set(messageId, [...(copies.get(messageId) ?? []), Buffer.from(bytes)]);
  });
  await spy.subscribeAsync('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing', { qos: 1 });
  return copies;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

t.test(
  'rejections (EXCHANGE.md §5.1): authenticated ones settle by messageId; the others only for a copy the gateway published',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    const copies = await copiesOnTheWire(t, broker.url);
    const [forged, corrupt] = seedOutbox(store, 2);
    const engine = await startEngine(t, world, store, [broker.url], { receiptTimeoutMs: 60_000 });
    await waitFor(() => copies.size === 2, 5000, 'both messages on the wire');
    const ignored: SyncEventMap['receipt-ignored'][0][] = [];
    engine.on('receipt-ignored', (i) => ignored.push(i));
    const forger = await connectAsync(broker.url);
    t.teardown(() => forger.endAsync());
    const exchange = new Ed25519Signer(world.exchangeKey);
    const reject = async (id: number, result: Partial<ReceiptResult>) => {
      const row = store.outbox.get(id)!;
      await forger.publishAsync(
        engine.config.topics.receipt,
        signReceipt(exchange, {
          action: RECEIPT_ACTION,
          from: 'CTOP://KZ/EXCHANGE',
          to: engine.config.address,
          issuedAt: Date.now(),
          results: [
            {
              messageId: row.messageId!,
              conversationId: row.messageId!,
              payloadSha256: row.payloadSha256,
              status: 'rejected',
              receivedAt: Date.now(),
              duplicate: false,
              ...result,
            },
          ],
        }),
        { qos: 1 },
      );
    };
    const forgedRow = store.outbox.get(forged!)!;
    const genuine = copies.get(forgedRow.messageId!)![0]!;
    const altered = Buffer.from(genuine);
    altered[altered.length - 1]! ^= 1;
    for (const [what, envelopeSha256] of [
      ['a bad_signature for a copy someone altered', sha256(altered)],
      ['a bad_signature without envelopeSha256 (a version 1 exchange)', undefined],
    ] as const) {
      const before = ignored.length;
      await reject(forged!, {
        reason: 'bad_signature',
        ...(envelopeSha256 === undefined ? {} : { envelopeSha256 }),
      });
      await waitFor(() => ignored.length > before, 5000, `${what} to be ignored`);
      t.equal(ignored.at(-1)!.code, 'E_SYNC_RECEIPT_MISMATCH', what);
      t.match(ignored.at(-1)!.message, /does not know as its own/, what);
      t.equal(
        store.outbox.get(forged!)!.state,
        'in_flight',
        `${what}: the message still waits for its answer`,
      );
    }
    await reject(forged!, { reason: 'bad_signature', envelopeSha256: sha256(genuine) });
    await waitFor(() => store.outbox.get(forged!)!.state === 'rejected', 5000, 'the own copy quarantined');
    t.equal(store.outbox.get(forged!)!.receipt!.reasonCode, 'bad_signature');

    // A version 1 exchange echoing the hash it computed instead of the declared one: before
    // v1.1 the gateway ignored such a rejection and sent the message again forever.
    await reject(corrupt!, { reason: 'payload_hash_mismatch', payloadSha256: Buffer.alloc(32, 9) });
    await waitFor(() => store.outbox.get(corrupt!)!.state === 'rejected', 5000, 'quarantined by messageId');
    t.equal(store.outbox.get(corrupt!)!.receipt!.reasonCode, 'payload_hash_mismatch');
  },
);

t.test(
  'a receipt signed by a revoked exchange key is ignored even when its issuedAt predates the revocation',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    world.agentTrust.revoke('kz-exchange-1', Date.now() - 60_000, 'key compromise');
    const successor = generateKey('exchange', 'kz-exchange-2', { country: 'KZ' });
    world.agentTrust.add(publicPart(successor));
    const { store } = openTestStore(t, { clock: systemClock });
    const [id] = seedOutbox(store, 1);
    const engine = await startEngine(t, world, store, [broker.url], { receiptTimeoutMs: 60_000 });
    await waitFor(() => store.outbox.get(id!)!.messageId !== undefined, 5000, 'the message sent');
    const row = store.outbox.get(id!)!;
    const ignored: SyncEventMap['receipt-ignored'][0][] = [];
    engine.on('receipt-ignored', (i) => ignored.push(i));
    const forger = await connectAsync(broker.url);
    t.teardown(() => forger.endAsync());
    const receipt = (key: typeof successor, issuedAt: number) =>
      signReceipt(new Ed25519Signer(key), {
        action: RECEIPT_ACTION,
        from: 'CTOP://KZ/EXCHANGE',
        to: engine.config.address,
        issuedAt,
        results: [
          {
            messageId: row.messageId!,
            conversationId: row.messageId!,
            payloadSha256: row.payloadSha256,
            status: 'accepted',
            receivedAt: issuedAt,
            duplicate: false,
          },
        ],
      });
    // Whoever holds the revoked key dates the receipt an hour back, before the revocation.
    await forger.publishAsync(
      engine.config.topics.receipt,
      receipt(world.exchangeKey, Date.now() - 3_600_000),
      {
        qos: 1,
      },
    );
    await waitFor(() => ignored.length > 0, 5000, 'the backdated receipt to be ignored');
    t.equal(ignored[0]!.code, 'E_SYNC_SIGNATURE');
    t.match(ignored[0]!.message, /revoked/);
    t.equal(store.outbox.get(id!)!.state, 'in_flight', 'nothing settled');
    await forger.publishAsync(engine.config.topics.receipt, receipt(successor, Date.now()), { qos: 1 });
    await waitFor(() => store.outbox.get(id!)!.state === 'acknowledged', 5000, 'the current key settles it');
  },
);
