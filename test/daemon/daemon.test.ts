import t from 'tap';
import { openStore } from '../../src/store/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { fixtureManifest, startTestExchange, waitFor } from '../helpers/sync-world.js';
import { httpGet, makeDaemonWorld, metricValue, scrapeUntil, startDaemon } from './world.js';

/** Whether any 18-byte run of `bytes` appears in `text` as hex or base64 (at any alignment). */
function leaks(text: string, bytes: Buffer): boolean {
  for (let off = 0; off + 18 <= bytes.byteLength; off++) {
    const run = bytes.subarray(off, off + 18);
    if (text.includes(run.toString('hex')) || text.includes(run.toString('base64'))) return true;
  }
  return false;
}

/** The daemon as a real process: a lock plugged in is read, stored, delivered; health and metrics tell. */

t.test('a lock plugged in is read, stored and delivered; health, readiness and metrics say so', async (t) => {
  const world = makeDaemonWorld(t);
  const broker = await startMosquitto(t);
  const exchange = await startTestExchange(t, world, broker.url);
  const lock = await startSerialLock({ lockId: 'SSL-KZ-000001', manifest: fixtureManifest('minimal.cose') });
  t.teardown(lock.close);

  const daemon = startDaemon(t, world.writeConfig(broker.url));
  const { httpPort } = await daemon.ready();
  t.ok(httpPort > 0, 'health listener bound');

  const ready = await httpGet(httpPort, '/readyz');
  t.equal(ready.status, 200, '/readyz 200 once started');
  t.match(JSON.parse(ready.body), { status: 'ok', store: 'ok', quickCheck: 'ok' });
  t.equal((await httpGet(httpPort, '/healthz')).status, 200, '/healthz 200');
  t.equal((await httpGet(httpPort, '/nope')).status, 404);

  world.plug('a', lock.pty.gatewayPath);
  const read = await daemon.lockRead('SSL-KZ-000001', 20_000, (l) => l.outcome === 'complete');
  t.equal(read.verification, 'valid', 'manifest verified against the trust store');
  await waitFor(() => exchange.stats.accepted >= 1, 15_000, 'the exchange to accept the manifest');

  const metrics = await scrapeUntil(
    httpPort,
    (m) =>
      metricValue(m, 'ctop_sync_receipts_total', { kind: 'manifest', status: 'accepted' }) === 1 &&
      metricValue(m, 'ctop_outbox_backlog') === 0,
    10_000,
  );
  t.equal(metricValue(metrics, 'ctop_lock_reads_total', { transport: 'serial', outcome: 'complete' }), 1);
  t.ok(
    (metricValue(metrics, 'ctop_lock_read_bytes_total', { transport: 'serial' }) ?? 0) > 1000,
    'bytes read',
  );
  t.equal(metricValue(metrics, 'ctop_manifests_stored_total', { verification: 'valid' }), 1);
  t.equal(metricValue(metrics, 'ctop_sync_receipts_total', { kind: 'manifest', status: 'accepted' }), 1);
  t.equal(metricValue(metrics, 'ctop_outbox_backlog'), 0, 'backlog drained');
  t.equal(metricValue(metrics, 'ctop_sync_connected'), 1);
  t.equal(metricValue(metrics, 'ctop_agent_ready'), 1);
  t.ok((metricValue(metrics, 'ctop_store_db_bytes') ?? 0) > 0, 'database size');
  t.ok((metricValue(metrics, 'ctop_store_free_disk_bytes') ?? 0) > 0, 'free disk');
  t.equal(metricValue(metrics, 'ctop_serial_ports', { state: 'attached' }), 1);
  t.ok(metricValue(metrics, 'process_resident_memory_bytes') !== undefined, 'process metrics');

  // The same lock, unchanged, is not read again however often it is probed: two more probes
  // (HELLO and BYE each), counted at the lock, rather than a wait a loaded machine may spend
  // without probing at all.
  const requests = lock.lock.stats.requests;
  await waitFor(() => lock.lock.stats.requests >= requests + 4, 30_000, 'two more probes');
  t.equal(daemon.readsOf('SSL-KZ-000001').length, 1, 'an unchanged lock is read once');

  const exit = await daemon.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: clean exit 0');
  t.ok(
    daemon.lines.some((l) => l.msg === 'stopped'),
    'logged stopped',
  );
  t.same(daemon.other, [], 'stdout carries JSON log lines only');
  const logText = JSON.stringify(daemon.lines);
  t.notOk(leaks(logText, fixtureManifest('minimal.cose')), 'no manifest bytes in the log (debug level)');
  t.notOk(leaks(logText, Buffer.from(world.gatewayKey.secretKey)), 'no key material in the log');

  const store = openStore({ path: world.dbPath, create: false });
  t.teardown(() => store.close());
  t.equal(store.manifests.list({}).length, 1, 'the manifest is in the store');
  t.equal(store.outbox.status(Date.now()).counts.acknowledged >= 1, true, 'acknowledged by a receipt');
});
