import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { loadBrokerPassword, MAX_PASSWORD_BYTES, resolveSyncConfig } from '../../src/sync/index.js';
import { testSyncConfig } from '../helpers/sync-world.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ctop-password-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: string | Buffer, mode = 0o600) => {
  const f = path.join(dir, `password-${++n}`);
  writeFileSync(f, content, { mode });
  chmodSync(f, mode);
  return f;
};

t.test('the whole file is the password, but one trailing newline', async (t) => {
  t.equal(loadBrokerPassword(file('s3cret')).toString(), 's3cret');
  t.equal(loadBrokerPassword(file('s3cret\n')).toString(), 's3cret', 'echo secret > file');
  t.equal(loadBrokerPassword(file('s3cret\r\n')).toString(), 's3cret', 'a file from Windows');
  t.equal(loadBrokerPassword(file('s3cret\n\n')).toString(), 's3cret\n', 'only one newline goes');
  t.equal(loadBrokerPassword(file(' spaces kept ')).toString(), ' spaces kept ');
  const binary = Buffer.from([0, 1, 2, 0xff]);
  t.same(loadBrokerPassword(file(binary)), binary, 'MQTT passwords are binary data');
  t.equal(loadBrokerPassword(file('x'.repeat(MAX_PASSWORD_BYTES))).length, MAX_PASSWORD_BYTES);
});

t.test('refused: readable by others, empty, longer than MQTT allows, not a file, missing', async (t) => {
  const cases: [string, string, string, RegExp][] = [
    ['group-readable', file('s3cret\n', 0o640), 'E_KEY_PERMISSIONS', /mode 0640 .*chmod 600/],
    ['world-readable', file('s3cret\n', 0o644), 'E_KEY_PERMISSIONS', /mode 0644 .*chmod 600/],
    ['empty', file(''), 'E_SYNC_CONFIG', /is empty/],
    ['a newline only', file('\n'), 'E_SYNC_CONFIG', /is empty/],
    ['too long', file('x'.repeat(MAX_PASSWORD_BYTES + 1)), 'E_SYNC_CONFIG', /longer than MQTT allows/],
    ['far too long', file('x'.repeat(1_000_000)), 'E_SYNC_CONFIG', /larger than/],
    ['missing', path.join(dir, 'nope'), 'E_SYNC_CONFIG', /cannot open the broker password file/],
  ];
  const sub = path.join(dir, 'a-directory');
  mkdirSync(sub, { mode: 0o700 });
  cases.push(['a directory', sub, 'E_SYNC_CONFIG', /not a regular file/]);
  for (const [what, f, code, message] of cases) {
    const err = t.throws(() => loadBrokerPassword(f), what);
    t.ok(isCtopError(err, code as 'E_SYNC_CONFIG'), `${what}: ${code}`);
    t.match((err as Error).message, message, what);
    t.notMatch((err as Error).message, /s3cret/, `${what}: the message never quotes the password`);
  }
});

t.test(
  'sync configuration: a password needs a user name; user names have no control characters',
  async (t) => {
    const ok = resolveSyncConfig(
      testSyncConfig(['mqtt://b:1883'], { username: 'gw-dostyk-1', passwordFile: '/etc/p' }),
    );
    t.equal(ok.username, 'gw-dostyk-1');
    t.equal(ok.passwordFile, '/etc/p');
    t.equal(ok.clientId, 'gw-dostyk-1', 'the client id defaults to the gateway id');
    const bare = resolveSyncConfig(testSyncConfig(['mqtt://b:1883']));
    t.notOk('username' in bare || 'passwordFile' in bare, 'no login: none sent');
    for (const [what, overrides] of [
      ['a password file without user name', { passwordFile: '/etc/p' }],
      ['a user name with a newline', { username: 'gw\n1' }],
      ['an empty user name', { username: '' }],
      ['a user name of 257 characters', { username: 'u'.repeat(257) }],
    ] as const) {
      const err = t.throws(() => resolveSyncConfig(testSyncConfig(['mqtt://b:1883'], overrides)), what);
      t.ok(isCtopError(err, 'E_SYNC_CONFIG'), `${what}: E_SYNC_CONFIG`);
    }
  },
);
