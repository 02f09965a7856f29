import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { isCtopError } from '../../src/errors.js';
import { generateKey } from '../../src/keys/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import {
  fixtureManifest,
  ingestManifest,
  makeSyncWorld,
  seedOutbox,
  startEngine,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';

t.test(
  'the two queries of decision No. 124: by document (any gateway) and updates for a period (own)',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const exchange = await startTestExchange(t, world, broker.url);
    const wheat = fixtureManifest('wheat-kostanay-urumqi.cose');

    const dostyk = openTestStore(t, { clock: systemClock }).store;
    const wheatRow = ingestManifest(dostyk, wheat, world.agentTrust, 1);
    ingestManifest(dostyk, fixtureManifest('minimal.cose'), world.agentTrust, 2);
    seedOutbox(dostyk, 3);
    const engine = await startEngine(t, world, dostyk, [broker.url]);
    // The loading yard at Altynkol saw the same consignment.
    const altynkol = openTestStore(t, { clock: systemClock }).store;
    ingestManifest(altynkol, wheat, world.agentTrust, 1);
    const yard = await startEngine(
      t,
      world,
      altynkol,
      [broker.url],
      { checkpoint: 'ALTYNKOL', gatewayId: 'gw-altynkol-1' },
      { gatewayKey: world.gatewayKeyFor('gw-altynkol-1') },
    );
    await waitFor(() => dostyk.outbox.status(Date.now()).counts.acknowledged === 5, 15_000, 'dostyk drained');
    await waitFor(
      () => altynkol.outbox.status(Date.now()).counts.acknowledged === 1,
      15_000,
      'altynkol drained',
    );

    const manifestId = dostyk.outbox.get(wheatRow)!.manifestId!;
    const byManifest = await engine.queryByDocument({ manifestId });
    t.equal(byManifest.status, 'ok');
    t.same(byManifest.records.map((r) => r.from).sort(), [
      'CTOP://KZ/ALTYNKOL/gw-altynkol-1',
      'CTOP://KZ/DOSTYK/gw-dostyk-1',
    ]);
    t.equal(
      byManifest.records[0]!.procedureId,
      byManifest.records[1]!.procedureId,
      'one consignment, one procedure, at every gateway',
    );
    t.not(byManifest.records[0]!.messageId, byManifest.records[1]!.messageId, 'two senders, two messages');
    t.ok(byManifest.records.every((r) => r.verification === 'valid' && r.kind === 'manifest'));
    const byContainer = await yard.queryByDocument({ container: 'FCIU5093182' });
    t.equal(byContainer.records.length, 2);
    const byMessage = await engine.queryByDocument({ messageId: dostyk.outbox.get(wheatRow)!.messageId! });
    t.equal(byMessage.records.length, 1);
    t.equal(byMessage.records[0]!.lockId, 'SSL-KZ-000123');
    t.same(
      (await engine.queryByDocument({ container: 'MSCU1234565' })).records,
      [],
      'an unknown container: nothing',
    );

    const all = await engine.queryUpdates({ since: 0, until: Date.now() + 1000 });
    t.equal(all.records.length, 5, 'updates are the asker’s own messages');
    t.ok(all.records.every((r) => r.from === engine.config.address));
    t.equal(all.next, undefined);
    const pages: string[] = [];
    let after: number | undefined;
    do {
      const page = await engine.queryUpdates({
        since: 0,
        until: Date.now() + 1000,
        limit: 2,
        ...(after === undefined ? {} : { after }),
      });
      t.ok(page.records.length <= 2);
      pages.push(...page.records.map((r) => r.messageId));
      after = page.next;
    } while (after !== undefined);
    t.same(
      pages,
      all.records.map((r) => r.messageId),
      'paging with next visits every record once, in order',
    );
    const none = await engine.queryUpdates({ since: Date.now() + 60_000, until: Date.now() + 120_000 });
    t.same(none.records, []);
    t.ok(exchange.stats.queries >= 8);
  },
);

t.test(
  'queries: refused for an unknown key, offline when disconnected, timed out without an exchange',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const { store } = openTestStore(t, { clock: systemClock });
    const engine = await startEngine(t, world, store, [broker.url], { queryTimeoutMs: 500 });
    await waitFor(() => engine.status().connected, 5000, 'connected');
    const timeout = await engine.queryUpdates({ since: 0, until: 1 }).catch((e) => e);
    t.ok(isCtopError(timeout, 'E_SYNC_QUERY_TIMEOUT'), 'no exchange: the question times out');

    await startTestExchange(t, world, broker.url);
    const unknownStore = openTestStore(t, { clock: systemClock }).store;
    const unknown = await startEngine(
      t,
      world,
      unknownStore,
      [broker.url],
      { checkpoint: 'KHORGOS', gatewayId: 'gw-khorgos-9', queryTimeoutMs: 3000 },
      { gatewayKey: generateKey('gateway', 'gw-khorgos-9') },
    );
    await waitFor(() => unknown.status().connected, 5000, 'connected');
    const refused = await unknown.queryByDocument({ container: 'FCIU5093182' }).catch((e) => e);
    t.ok(isCtopError(refused, 'E_SYNC_QUERY_REFUSED'), 'a gateway the exchange does not know is refused');
    t.equal(refused.details.reason, 'unknown_key');

    const usage = t.throws(() => engine.queryByDocument({}));
    t.ok(isCtopError(usage, 'E_USAGE'), 'a document query names a document');
    await broker.kill();
    await waitFor(() => !engine.status().connected, 5000, 'disconnected');
    const offline = t.throws(() => engine.queryUpdates({ since: 0, until: 1 }));
    t.ok(isCtopError(offline, 'E_SYNC_OFFLINE'));
  },
);
