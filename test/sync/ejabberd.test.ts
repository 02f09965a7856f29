/**
 * The second broker: ejabberd's MQTT service (Debian ejabberd), as a customs service that
 * runs a clustered XMPP/MQTT server would offer it — password login or TLS client
 * certificates, the topic ACL, sessions in memory only. The shared suite of
 * broker-suite.ts runs against it; the identity test is ejabberd's own: it ties a client
 * certificate to the client id or user name.
 */
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import type { OutageRecord } from '../../src/store/index.js';
import { SyncEngine, type SyncEventMap } from '../../src/sync/index.js';
import { startEjabberd } from '../helpers/ejabberd.js';
import { makeTestPki } from '../helpers/pki.js';
import { openTestStore } from '../helpers/store.js';
import { IDENTITY, makeSyncWorld, seedOutbox, testSyncConfig, waitFor } from '../helpers/sync-world.js';
import {
  agentKilledMidDrain,
  brokerRestartMidDrain,
  drainWithReceipts,
  lastWill,
  wrongPassword,
} from './broker-suite.js';

t.test('ejabberd, TLS client certificates, MQTT 5: drained, each row on its signed receipt', (t) =>
  drainWithReceipts(t, 'ejabberd-tls', 5),
);

t.test('ejabberd, password login over TLS, MQTT 3.1.1: drained, each row on its signed receipt', (t) =>
  drainWithReceipts(t, 'ejabberd-password', 4),
);

t.test('ejabberd, TLS: SIGKILLed mid-drain, restarted without sessions: everything delivered once', (t) =>
  brokerRestartMidDrain(t, 'ejabberd-tls'),
);

t.test('ejabberd, password login: the agent SIGKILLed at random 5 times: 0 lost, 0 duplicated', (t) =>
  agentKilledMidDrain(t, 'ejabberd-password', Number(process.env.CTOP_SYNC_KILLS ?? 5)),
);

t.test('ejabberd, TLS: the last will says offline, lost', (t) => lastWill(t, 'ejabberd-tls'));

t.test('ejabberd, password login: a wrong password is refused, and logged nowhere', (t) =>
  wrongPassword(t, 'ejabberd-password'),
);

t.test(
  'ejabberd binds the certificate to the client id or user name: the default client id (gateway.id = CN) is let in, the old ctop-<id> is refused',
  async (t) => {
    const pki = makeTestPki(t);
    const broker = await startEjabberd(t, { tls: { caFile: pki.caFile, ...pki.server } });
    t.same(
      broker.listeningAddresses(),
      [`127.0.0.1:${broker.port}`, `127.0.0.1:${broker.tlsPort}`].sort(),
      'the VM listens on the two loopback MQTT ports and nothing else (no epmd, no distribution)',
    );
    const world = makeSyncWorld(t);
    const tls = { caFile: pki.caFile, ...pki.client(IDENTITY.gatewayId) };
    const attempt = async (what: string, identity: { clientId?: string; username?: string }) => {
      const { store } = openTestStore(t, { clock: systemClock });
      seedOutbox(store, 1);
      const engine = new SyncEngine({
        store,
        gatewayKey: world.gatewayKey,
        trust: world.agentTrust,
        config: testSyncConfig([broker.tlsUrl], { tls, ...identity }),
      });
      const connected: SyncEventMap['connected'][0][] = [];
      const outages: OutageRecord[] = [];
      engine.on('connected', (c) => connected.push(c));
      engine.on('outage-start', (o) => outages.push(o));
      await engine.start();
      await waitFor(() => connected.length > 0 || outages.length > 0, 30_000, what);
      await engine.stop();
      return { clientId: engine.config.clientId, connected: connected.length > 0, outage: outages[0] };
    };
    const byDefault = await attempt('the default client id', {});
    t.equal(byDefault.clientId, IDENTITY.gatewayId, 'the client id defaults to gateway.id');
    t.ok(byDefault.connected, 'client id = CN: let in');
    const old = await attempt('the old default', { clientId: `ctop-${IDENTITY.gatewayId}` });
    t.notOk(old.connected);
    t.equal(old.outage?.cause, 'broker_refused', `client id ≠ CN: refused (${old.outage?.detail})`);
    const named = await attempt('a user name = CN', {
      clientId: `ctop-${IDENTITY.gatewayId}`,
      username: IDENTITY.gatewayId,
    });
    t.ok(named.connected, 'user name = CN, any client id: let in');
  },
);
