import { connectAsync } from 'mqtt';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { decodeStatus, openReceipt } from '../../src/exchange-wire/index.js';
import { SyncEngine, type SyncEventMap } from '../../src/sync/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  fixtureManifest,
  IDENTITY,
  ingestManifest,
  makeSyncWorld,
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

for (const protocolVersion of [5, 4] as const) {
  t.test(
    `MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: manifests and records reach the exchange once, each row done on its signed receipt`,
    async (t) => {
      const broker = await startMosquitto(t);
      const world = makeSyncWorld(t);
      const exchange = await startTestExchange(t, world, broker.url, { protocolVersion });
      const { store } = openTestStore(t, { clock: systemClock });
      const manifestRows = MANIFESTS.map((name, i) =>
        ingestManifest(store, fixtureManifest(name), world.agentTrust, i + 1),
      );
      const pairingRows = seedOutbox(store, 20);
      const total = manifestRows.length + pairingRows.length;

      const engine = new SyncEngine({
        store,
        gatewayKey: world.gatewayKey,
        trust: world.agentTrust,
        config: testSyncConfig([broker.url], { protocolVersion }),
      });
      const receipts: SyncEventMap['receipt'][0][] = [];
      engine.on('receipt', (r) => receipts.push(r));
      await engine.start();
      t.teardown(() => engine.stop());

      await waitFor(
        () => store.outbox.status(Date.now()).counts.acknowledged === total,
        15_000,
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
      const watcher = await connectAsync(broker.url, { protocolVersion });
      t.teardown(() => watcher.endAsync());
      const retained = new Promise<Buffer>((resolve) =>
        watcher.on('message', (_topic, payload) => resolve(payload)),
      );
      await watcher.subscribeAsync(engine.config.topics.status, { qos: 1 });
      const offline = decodeStatus(await retained);
      t.equal(offline.state, 'offline');
      t.equal(offline.reason, 'stopped');
      t.equal(offline.backlog, 0);
    },
  );
}
