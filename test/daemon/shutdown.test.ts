import { createHash } from 'node:crypto';
import t from 'tap';
import { openStore } from '../../src/store/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import {
  assertExactlyOnce,
  fixtureManifest,
  seedOutbox,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';
import { makeDaemonWorld, startDaemon } from './world.js';

/** SIGTERM to a real daemon mid-read and mid-drain: nothing lost, the work resumes after restart. */

t.test(
  'SIGTERM mid-read: the partial manifest is checkpointed and the next run continues from it',
  async (t) => {
    const world = makeDaemonWorld(t);
    const broker = await startMosquitto(t);
    const exchange = await startTestExchange(t, world, broker.url);
    const manifest = fixtureManifest('consolidated-300.cose'); // 68 KB: ~6 s at 115200 baud
    const lock = await startSerialLock({ lockId: 'SSL-CN-001944', manifest, baudRate: 115_200 });
    t.teardown(lock.close);
    world.plug('bay1', lock.pty.gatewayPath);
    const config = world.writeConfig(broker.url, { serial: { baudRate: 115_200 } });

    const first = startDaemon(t, config);
    await first.ready();
    await first.msg('reading lock SSL-CN-001944');
    // Mid-read by the bytes, not by a wait: 24 KiB served is more than a window in flight, so
    // some are verified; 68 KB at 115200 baud cannot all have gone.
    await waitFor(() => lock.lock.stats.manifestBytesServed >= 24 * 1024, 60_000, 'the read under way');
    const exit = await first.stop('SIGTERM');
    t.same(exit, { code: 0, signal: null }, 'exits 0 after SIGTERM');
    const stored = first.readsOf('SSL-CN-001944')[0];
    t.equal(stored?.outcome, 'failed', 'the interrupted read is recorded');
    t.match(stored?.msg, /partial manifest kept/);
    t.ok(first.lines.some((l) => l.msg === 'stopped'));

    let offset: number;
    {
      const store = openStore({ path: world.dbPath, create: false });
      const checkpoint = store.loadReadCheckpoint('SSL-CN-001944');
      store.close();
      t.ok(checkpoint, 'a checkpoint was stored');
      offset = checkpoint!.prefix.byteLength;
      t.ok(
        offset > 0 && offset < manifest.byteLength,
        `checkpoint at byte ${offset} of ${manifest.byteLength}`,
      );
      t.ok(
        Buffer.from(checkpoint!.prefix).equals(manifest.subarray(0, offset)),
        'the checkpoint holds exactly the verified prefix',
      );
    }

    const second = startDaemon(t, config);
    await second.ready();
    const resumed = await second.msg(`reading lock SSL-CN-001944, continuing at byte ${offset}`, 20_000);
    t.equal(resumed.resumeAt, offset, 'the second run continues where the first stopped');
    const done = await second.waitFor(
      (l) => l.component === 'ingest' && l.lockId === 'SSL-CN-001944' && l.outcome === 'complete',
      30_000,
      'the resumed read to complete',
    );
    t.equal(done.verification, 'valid', 'the whole manifest verified');
    await waitFor(() => exchange.stats.accepted >= 1, 15_000, 'the exchange to accept it');
    t.same(await second.stop('SIGTERM'), { code: 0, signal: null });

    const store = openStore({ path: world.dbPath, create: false });
    t.teardown(() => store.close());
    const manifests = store.manifests.list({});
    t.equal(manifests.length, 1, 'one manifest');
    t.equal(
      manifests[0]?.manifestId,
      createHash('sha256').update(manifest).digest('hex'),
      'the manifest stored is byte for byte the one in the lock',
    );
    t.equal(store.loadReadCheckpoint('SSL-CN-001944'), undefined, 'checkpoint cleared by the complete read');
  },
);

t.test(
  'SIGTERM mid-drain: rows in flight go back to the queue and are delivered exactly once after restart',
  async (t) => {
    const world = makeDaemonWorld(t);
    const broker = await startMosquitto(t);
    let dropping = true;
    // Half the receipts are lost while `dropping`: those rows stay in flight until the stop.
    const exchange = await startTestExchange(t, world, broker.url, {
      faults: {
        dropReceipt: (messageId) => dropping && createHash('sha256').update(messageId).digest()[0]! % 2 === 0,
      },
    });
    {
      const store = openStore({ path: world.dbPath });
      seedOutbox(store, 200, { size: 200 });
      store.close();
    }
    const config = world.writeConfig(broker.url, { serial: { ports: [] } });

    const first = startDaemon(t, config);
    await first.ready();
    await waitFor(
      () => exchange.stats.accepted >= 60 && exchange.stats.receiptResultsDropped >= 20,
      20_000,
      'half the backlog acknowledged',
    );
    t.same(await first.stop('SIGTERM'), { code: 0, signal: null }, 'exits 0 mid-drain');
    {
      const store = openStore({ path: world.dbPath, create: false });
      const { counts } = store.outbox.status(Date.now());
      store.close();
      t.equal(counts.in_flight, 0, 'nothing left in flight: requeued by the graceful stop');
      t.ok(
        counts.acknowledged > 0 && counts.queued > 0,
        `mid-drain: ${counts.acknowledged} acknowledged, ${counts.queued} queued`,
      );
      t.equal(counts.rejected, 0);
    }

    dropping = false;
    const second = startDaemon(t, config);
    await second.ready();
    const store = openStore({ path: world.dbPath, create: false });
    t.teardown(() => store.close());
    await waitFor(
      () => {
        const { counts } = store.outbox.status(Date.now());
        return counts.queued + counts.in_flight === 0;
      },
      30_000,
      'the backlog to drain after restart',
      100,
    );
    t.same(await second.stop('SIGTERM'), { code: 0, signal: null });
    assertExactlyOnce(t, store, exchange);
  },
);
