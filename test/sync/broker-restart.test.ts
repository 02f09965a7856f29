import t from 'tap';
import { systemClock } from '../../src/clock.js';
import type { OutageRecord } from '../../src/store/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  assertExactlyOnce,
  makeSyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';

for (const persistence of [true, false]) {
  t.test(
    `mosquitto SIGKILLed mid-drain and restarted (persistence ${persistence ? 'on' : 'off'}): everything delivered, once`,
    async (t) => {
      const broker = await startMosquitto(t, { persistence });
      const world = makeSyncWorld(t);
      const exchange = await startTestExchange(t, world, broker.url);
      const { store } = openTestStore(t, { clock: systemClock, backoff: { baseMs: 100, maxMs: 400 } });
      const total = 600;
      seedOutbox(store, total, { size: 512 });
      const engine = await startEngine(t, world, store, [broker.url], { claimBatch: 16, maxInFlight: 32 });
      const outages: OutageRecord[] = [];
      engine.on('outage-end', (o) => outages.push(o));

      const acknowledged = () => store.outbox.status(Date.now()).counts.acknowledged;
      await waitFor(() => acknowledged() >= 100, 20_000, 'the drain to be under way');
      await broker.kill('SIGKILL');
      const killedAt = acknowledged();
      t.ok(killedAt < total, `killed mid-drain (${killedAt} of ${total} acknowledged)`);
      await waitFor(() => engine.status().currentOutage !== undefined, 5000, 'the outage to be recorded');
      t.equal(engine.status().connected, false);
      await new Promise((r) => setTimeout(r, 300));
      await broker.restart();

      await waitFor(
        () =>
          store.outbox.status(Date.now()).counts.acknowledged === total + outages.length &&
          outages.length > 0,
        30_000,
        'the rest and the outage report acknowledged',
      );
      await waitFor(
        () => exchange.db.outageReports().length === 1,
        10_000,
        'the outage report at the exchange',
      );
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
    },
  );
}
