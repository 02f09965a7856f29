import t from 'tap';
import { hashPassword } from '../../src/console/index.js';
import { Client } from '../console/console-world.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { fixtureManifest } from '../helpers/sync-world.js';
import { testKeys } from '../helpers/test-keys.js';
import { makeDaemonWorld, startDaemon } from './world.js';

/** The daemon serves the officers' console from its configuration, over the store it writes. */

const PASSWORD = 'correct horse battery';

t.test(
  'console.listen: the daemon serves the console; a read manifest is there, goods for customs only',
  async (t) => {
    const world = makeDaemonWorld(t);
    const keys = testKeys(t);
    const broker = await startMosquitto(t);
    const lock = await startSerialLock({
      lockId: 'SSL-KZ-000031',
      manifest: fixtureManifest('minimal.cose'),
    });
    t.teardown(lock.close);
    const passwordHash = await hashPassword(PASSWORD, { ln: 14, r: 8, p: 1 });
    const daemon = startDaemon(
      t,
      world.writeConfig(broker.url, {
        console: {
          listen: '127.0.0.1:0',
          officers: [
            { user: 'aigerim', name: 'A. Nurlanovna', roles: ['customs'], passwordHash },
            { user: 'bolat', roles: ['viewer'], passwordHash },
          ],
          // minimal.cose is encrypted for Chinese customs only.
          recipientKeys: [keys.keyFile('cn-customs-recipient-1')],
          site: 'Dostyk test bay',
        },
      }),
    );
    await daemon.ready();
    const announced = await daemon.msg(/^officers' console on http:\/\/127\.0\.0\.1:\d+$/);
    const base = announced.msg.replace("officers' console on ", '');
    world.plug('a', lock.pty.gatewayPath);
    const read = await daemon.lockRead('SSL-KZ-000031', 20_000, (l) => l.outcome === 'complete');
    const manifestId = String(read.manifestId);
    t.match(manifestId, /^[0-9a-f]{64}$/, 'the read names its manifest');

    const anonymous = new Client(base);
    const refused = await anonymous.request('/manifests');
    t.equal(refused.status, 303, 'without a login: redirected');
    t.equal(refused.headers.get('location'), '/login?next=%2Fmanifests');

    const customs = new Client(base);
    t.equal(
      (await customs.login('aigerim', 'wrong password here')).status,
      401,
      'a wrong password is refused',
    );
    t.equal((await customs.login('aigerim', PASSWORD)).status, 303, 'logged in');
    const list = await customs.request('/manifests');
    t.equal(list.status, 200);
    const listHtml = await list.text();
    t.match(listHtml, manifestId.slice(0, 12), 'the manifest the daemon stored is listed');
    t.match(listHtml, 'Dostyk test bay', 'the site name from the configuration');
    const goods = await customs.request(`/manifests/${manifestId}/goods`);
    t.equal(goods.status, 200, `goods status (${goods.status})`);
    t.match(
      await goods.text(),
      'data-testid="goods"',
      'decrypted with the recipient key the configuration names',
    );

    const viewer = new Client(base);
    t.equal((await viewer.login('bolat', PASSWORD)).status, 303);
    const page = await (await viewer.request(`/manifests/${manifestId}`)).text();
    t.match(page, 'shown to officers with the customs role only', 'a viewer does not get the goods');

    t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null }, 'stops cleanly with the console open');
    const logText = JSON.stringify(daemon.lines);
    t.notMatch(logText, PASSWORD, 'no password in the log');
    t.notMatch(logText, passwordHash.slice(-20), 'no password hash in the log');
  },
);
