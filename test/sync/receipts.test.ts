import { Writable } from 'node:stream';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { Ed25519Signer, RECEIPT_ACTION, signReceipt } from '../../src/exchange-wire/index.js';
import { generateKey } from '../../src/keys/index.js';
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
