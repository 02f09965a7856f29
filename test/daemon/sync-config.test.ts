import t from 'tap';
import { configFromObject } from '../../src/config/index.js';
import { syncConfigOf } from '../../src/daemon/sync-config.js';
import { resolveSyncConfig } from '../../src/sync/index.js';

t.test(
  'the daemon hands the broker login to the sync: user name and password file, never a password',
  async (t) => {
    const base = {
      gateway: { id: 'KZ-DOSTYK-GW01', country: 'KZ', checkpoint: 'DOSTYK', key: 'k' },
      trust: { store: 's' },
    };
    const login = configFromObject(
      {
        ...base,
        sync: {
          brokers: ['mqtts://a:8883'],
          tls: { caFile: 'ca.pem' },
          username: 'KZ-DOSTYK-GW01',
          passwordFile: 'pw',
        },
      },
      '(test)',
      { baseDir: '/etc/ctop-agent' },
    ).config;
    const sync = syncConfigOf(login);
    t.equal(sync.username, 'KZ-DOSTYK-GW01');
    t.equal(sync.passwordFile, '/etc/ctop-agent/pw');
    t.notOk('password' in sync);
    t.equal(resolveSyncConfig(sync).clientId, 'KZ-DOSTYK-GW01', 'client id = gateway.id by default');

    const anonymous = syncConfigOf(
      configFromObject({ ...base, sync: { brokers: ['mqtt://a:1883'] } }).config,
    );
    t.notOk('username' in anonymous || 'passwordFile' in anonymous, 'no login: none configured');
  },
);
