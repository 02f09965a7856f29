import { readdirSync } from 'node:fs';
import t from 'tap';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { fixtureManifest, startTestExchange, waitFor } from '../helpers/sync-world.js';
import { makeDaemonWorld, startDaemon } from './world.js';

/**
 * A gateway runs for years and meets thousands of locks: every lock plugged in and pulled
 * out again opens a serial port, a link, a session and timers. None of it may outlive the
 * lock. (The long-run version, with trains, cuts and restarts, is `npm run soak`.)
 */

const LOCKS = 20;

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

t.test(`${LOCKS} locks plugged in, read and pulled out: no descriptor outlives its lock`, async (t) => {
  const world = makeDaemonWorld(t);
  const broker = await startMosquitto(t);
  const exchange = await startTestExchange(t, world, broker.url);
  const daemon = startDaemon(t, world.writeConfig(broker.url, { log: { level: 'info' } }));
  await daemon.ready();
  const pid = daemon.child.pid!;

  const counts: number[] = [];
  for (let i = 0; i < LOCKS; i++) {
    const lockId = `SSL-KZ-${String(700_000 + i)}`;
    const lock = await startSerialLock({ lockId, manifest: fixtureManifest('minimal.cose') });
    world.plug(`n${i}`, lock.pty.gatewayPath);
    const read = await daemon.lockRead(lockId, 20_000);
    t.equal(read.outcome, 'complete', `${lockId} read`);
    world.unplug(`n${i}`);
    await lock.close();
    await daemon.waitFor(
      (l) => l.msg === 'serial device gone' && String(l.port ?? '').endsWith(`lock-n${i}`),
      10_000,
      `lock-n${i} detached`,
    );
    counts.push(openFds(pid));
  }
  await waitFor(() => exchange.stats.accepted >= 1, 15_000, 'the exchange to accept the manifest');

  // The first few locks warm up what stays (the database, the broker socket, libuv's pool).
  const warm = counts[4]!;
  const last = counts.at(-1)!;
  t.comment(`open descriptors after each lock: ${counts.join(' ')}`);
  t.ok(last - warm <= 3, `descriptors after lock 5: ${warm}, after lock ${LOCKS}: ${last}`);
  t.ok(Math.max(...counts.slice(4)) - warm <= 8, 'no lock left a trail of descriptors');
  t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });
});
