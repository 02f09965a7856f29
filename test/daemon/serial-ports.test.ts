import { renameSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { SerialLockServer } from '../../src/sim/lock/serial-lock-server.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { fixtureManifest, startTestExchange, waitFor } from '../helpers/sync-world.js';
import { httpGet, makeDaemonWorld, metricValue, scrapeUntil, startDaemon } from './world.js';

/**
 * Ports that come and go while the daemon runs: a lock plugged in later is read; a lock
 * whose state changes is read again; a device that vanishes mid-read costs nothing but
 * time, and the read continues when it is back.
 */

t.test('ports appear, change and vanish mid-read while the daemon runs', async (t) => {
  const world = makeDaemonWorld(t);
  const broker = await startMosquitto(t);
  await startTestExchange(t, world, broker.url);
  const daemon = startDaemon(t, world.writeConfig(broker.url, { serial: { baudRate: 115_200 } }));
  const { httpPort } = await daemon.ready();
  t.same(JSON.parse((await httpGet(httpPort, '/readyz')).body).serialPorts, [], 'no port yet');

  // A lock plugged in after start.
  const a = await startSerialLock({ lockId: 'SSL-KZ-000001', manifest: fixtureManifest('minimal.cose') });
  t.teardown(a.close);
  world.plug('a', a.pty.gatewayPath);
  await daemon.msg('serial device attached');
  const first = await daemon.lockRead('SSL-KZ-000001');
  t.equal(first.outcome, 'complete');
  t.equal(first.verification, 'valid');

  // Its state changes (a tamper event): read again, alert raised.
  a.lock.engine.detectTamper();
  const again = await daemon.lockRead('SSL-KZ-000001', 20_000, (l) => l !== first);
  t.equal(again.outcome, 'complete');
  t.match(again.alerts, ['tamper'], 'the tamper event raised an alert');
  const tampers = (again.alerts as string[]).filter((k) => k === 'tamper').length;
  const metrics = await scrapeUntil(
    httpPort,
    (m) => metricValue(m, 'ctop_alerts_total', { kind: 'tamper' }) === tampers,
    5000,
  );
  t.equal(metricValue(metrics, 'ctop_alerts_total', { kind: 'tamper' }), tampers, 'tamper alerts counted');

  // A second lock whose device vanishes mid-read.
  const manifest = fixtureManifest('consolidated-300.cose');
  const b = await startSerialLock({ lockId: 'SSL-CN-001944', manifest, baudRate: 115_200 });
  t.teardown(b.close);
  world.plug('b', b.pty.gatewayPath);
  await daemon.msg('reading lock SSL-CN-001944');
  // Mid-read by the bytes, not by a wait: 24 KiB served is more than a window in flight (8
  // requests of 2 KiB), so the daemon has verified some; 68 KB cannot all have gone.
  await waitFor(() => b.lock.stats.manifestBytesServed >= 24 * 1024, 60_000, 'the read under way');
  await b.pty.cut();
  await daemon.msg('serial device gone');
  const cut = await daemon.lockRead('SSL-CN-001944', 15_000);
  t.equal(cut.outcome, 'failed', 'the cut read is recorded as failed');
  t.match(cut.msg, /partial manifest kept/, 'with what it verified');
  t.equal((await httpGet(httpPort, '/healthz')).status, 200, 'the daemon lives on');
  t.equal(daemon.readsOf('SSL-KZ-000001').length, 2, 'the other port was not disturbed');

  // The adapter comes back: the read continues where it stopped.
  await b.server.stop();
  await b.pty.restore();
  const server = await SerialLockServer.start({
    lock: b.lock,
    path: b.pty.lockPath,
    baudRate: 115_200,
    pty: b.pty,
  });
  t.teardown(() => server.stop());
  const resumed = await daemon.msg(/^reading lock SSL-CN-001944, continuing at byte \d+$/, 20_000);
  t.ok((resumed.resumeAt as number) > 0, `continues at byte ${resumed.resumeAt}`);
  const done = await daemon.lockRead('SSL-CN-001944', 30_000, (l) => l.outcome === 'complete');
  t.equal(done.verification, 'valid', 'the whole manifest arrived and verified');

  // Two hostile locks on two more ports (issue 18): a sealed lock whose event log is empty
  // (§7: a manifest never switches without its commit event) and one that replays every
  // answer (§9.2). The daemon stores an alert for each and reads on.
  const empty = await startSerialLock({
    lockId: 'SSL-KZ-000404',
    manifest: fixtureManifest('minimal.cose'),
    eventCount: 0,
  });
  t.teardown(empty.close);
  const replaying = await startSerialLock({
    lockId: 'SSL-KZ-000505',
    manifest,
    baudRate: 115_200,
    faults: { replayRate: 1 },
  });
  t.teardown(replaying.close);
  world.plug('c', empty.pty.gatewayPath);
  world.plug('d', replaying.pty.gatewayPath);
  const emptyRead = await daemon.lockRead('SSL-KZ-000404', 30_000);
  t.equal(emptyRead.outcome, 'complete', 'the manifest itself is read and kept as evidence');
  t.match(emptyRead.alerts, ['tamper'], 'tamper alerts raised (which ones: from the store below)');
  const replayRead = await daemon.lockRead('SSL-KZ-000505', 60_000);
  t.equal(replayRead.outcome, 'failed');
  t.equal(replayRead.code, 'E_FRAME_REPLAY');
  t.match(replayRead.alerts, ['lock_protocol'], 'the replay bound raised a lock alert');
  const counted = await scrapeUntil(
    httpPort,
    (m) => metricValue(m, 'ctop_alerts_total', { kind: 'lock_protocol' }) === 1,
    10_000,
  );
  t.equal(
    metricValue(counted, 'ctop_alerts_total', { kind: 'lock_protocol' }),
    1,
    'counted for the alert rules',
  );

  t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });
  // What was stored, as an officer's console and the exchange see it.
  const db = new Database(world.dbPath, { readonly: true });
  const alertsOf = (lockId: string) =>
    db.prepare('SELECT kind, subject, detail FROM alert WHERE lock_id = ?').all(lockId) as {
      kind: string;
      subject: string;
      detail: string;
    }[];
  // minimal.cose names lock SSL-KZ-000001 (that alert is there too); the finding of §7:
  t.match(
    alertsOf('SSL-KZ-000404').filter((a) => a.subject.startsWith('lock_log:')),
    [
      {
        kind: 'tamper',
        subject: 'lock_log:empty_log:0',
        detail: /sealed and carries manifest .* but its event log is empty/,
      },
    ],
  );
  t.match(alertsOf('SSL-KZ-000505'), [{ kind: 'lock_protocol', detail: /E_FRAME_REPLAY/ }]);
  db.close();
  t.notOk(
    daemon.lines.some((l) => l.level >= 50 && l.component !== 'ingest'),
    'no error logged on the way (beyond the lock reads themselves)',
  );
});

t.test('a lock swapped onto the same device within one scan is read under its new name', async (t) => {
  // The kernel hands a freed pty or ttyUSB number to the next device: the bay's old link goes
  // and a new link names the same character device before the next scan. The reader of the
  // old link must not keep the device while it probes a path that no longer exists.
  const world = makeDaemonWorld(t);
  const broker = await startMosquitto(t);
  await startTestExchange(t, world, broker.url);
  const daemon = startDaemon(t, world.writeConfig(broker.url, { serial: { baudRate: 115_200 } }));
  await daemon.ready();
  const lock = await startSerialLock({ lockId: 'SSL-KZ-000077', manifest: fixtureManifest('minimal.cose') });
  t.teardown(lock.close);
  const before = world.plug('bay-a', lock.pty.gatewayPath);
  const first = await daemon.lockRead('SSL-KZ-000077');
  t.equal(first.outcome, 'complete');

  // One atomic rename: no scan can see the device unnamed in between.
  const after = path.join(world.ttyDir, 'lock-bay-b');
  renameSync(before, after);
  lock.lock.engine.detectTamper();
  const attached = await daemon.waitFor(
    (l) => l.msg === 'serial device attached' && l.port === after,
    15_000,
    'the device attached under its new name',
  );
  t.equal(attached.port, after, 'the device is attached under its new name');
  const again = await daemon.lockRead('SSL-KZ-000077', 20_000, (l) => l !== first);
  t.equal(again.outcome, 'complete', 'the lock on it is read');
  t.match(again.alerts, ['tamper'], 'in its new state');
  t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });
});
