import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { fixtureManifest, startTestExchange } from '../helpers/sync-world.js';
import { makeDaemonWorld, startDaemon } from './world.js';

/** SIGHUP: a new signer key in the trust store and a new log level take effect without a restart. */

t.test('SIGHUP reloads the trust store and the log level; a broken file keeps the old keys', async (t) => {
  const world = makeDaemonWorld(t);
  const broker = await startMosquitto(t);
  await startTestExchange(t, world, broker.url);
  const full = readFileSync(world.files.agentTrust, 'utf8');
  const doc = JSON.parse(full) as { keys: { kid: string }[] };
  writeFileSync(
    world.files.agentTrust,
    JSON.stringify({ ...doc, keys: doc.keys.filter((k) => k.kid !== 'cn-customs-signer-1') }),
  );
  const config = world.writeConfig(broker.url, { log: { level: 'info' } });
  const daemon = startDaemon(t, config);
  await daemon.ready();
  const ingested = (lockId: string) => daemon.lockRead(lockId);

  const before = await startSerialLock({
    lockId: 'SSL-CN-000457',
    manifest: fixtureManifest('electronics-xian-duisburg.cose'),
  });
  t.teardown(before.close);
  world.plug('before', before.pty.gatewayPath);
  t.equal((await ingested('SSL-CN-000457')).verification, 'unknown_signer', 'signer not trusted yet');
  t.notOk(
    daemon.lines.some((l) => l.level === 20),
    'no debug lines at level info',
  );

  writeFileSync(world.files.agentTrust, full);
  const changed = parse(readFileSync(config, 'utf8'));
  changed.log.level = 'debug';
  changed.sync.keepaliveSeconds = 7;
  writeFileSync(config, stringify(changed));
  daemon.child.kill('SIGHUP');
  const reloaded = await daemon.msg('trust store reloaded');
  t.equal(reloaded.keys, doc.keys.length, 'the signer key is back');
  t.match(await daemon.msg('log level changed'), { from: 'info', to: 'debug' });
  t.match(await daemon.msg(/take effect at the next restart/), { keys: ['sync'] });

  const after = await startSerialLock({
    lockId: 'SSL-CN-000812',
    manifest: fixtureManifest('auto-parts-chongqing-almaty.cose'),
  });
  t.teardown(after.close);
  world.plug('after', after.pty.gatewayPath);
  t.equal((await ingested('SSL-CN-000812')).verification, 'valid', 'verified with the reloaded key');
  t.ok(
    daemon.lines.some((l) => l.level === 20),
    'debug lines now',
  );

  writeFileSync(world.files.agentTrust, '{ not json');
  daemon.child.kill('SIGHUP');
  const refused = await daemon.msg('trust store not reloaded: the previous keys stay in force');
  t.equal(refused.code, 'E_TRUST_STORE');
  t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null }, 'still running, stops cleanly');
});
