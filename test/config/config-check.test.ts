import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { checkReferences, loadConfig } from '../../src/config/index.js';
import { runCli } from '../helpers/cli.js';
import { makeTestPki } from '../helpers/pki.js';
import { IDENTITY, makeSyncWorld } from '../helpers/sync-world.js';

const EXAMPLE = fileURLToPath(new URL('../../systemd/config.example.yaml', import.meta.url));

/** `ctop-agent config check` as an operator runs it: exit 0 and the resolved file, or exit 3 and the lines. */

t.test('config check: a good configuration prints resolved, exit 0', async (t) => {
  const world = makeSyncWorld(t);
  const file = path.join(world.dir, 'config.yaml');
  writeFileSync(
    file,
    stringify({
      gateway: {
        id: IDENTITY.gatewayId,
        country: IDENTITY.country,
        checkpoint: IDENTITY.checkpoint,
        key: world.files.gatewayKey,
      },
      trust: { store: path.basename(world.files.agentTrust) },
      locks: { trustOnFirstUse: true },
      store: { path: 'agent.db' },
      sync: { brokers: ['mqtt://127.0.0.1:1883'] },
    }),
  );
  const ok = await runCli(['config', 'check', file], { env: { CTOP_SYNC__PROTOCOL_VERSION: '4' } });
  t.equal(ok.code, 0, ok.stderr);
  const resolved = parse(ok.stdout);
  t.equal(resolved.trust.store, world.files.agentTrust, 'relative paths resolved from the file directory');
  t.equal(resolved.store.path, path.join(world.dir, 'agent.db'));
  t.equal(resolved.sync.protocolVersion, 4, 'environment override applied');
  t.match(ok.stdout, /# sync\.protocolVersion set by environment CTOP_SYNC__PROTOCOL_VERSION/);
  t.notMatch(ok.stdout, /secretKey|PRIVATE/, 'the key file is named, never printed');

  chmodSync(world.files.gatewayKey, 0o644);
  const loose = await runCli(['config', 'check', file]);
  t.equal(loose.code, 3, 'a group-readable key: config exit code');
  t.match(loose.stderr, /E_CONFIG_REFERENCE/);
  t.match(loose.stderr, /config\.yaml:\d+: gateway\.key: E_KEY_PERMISSIONS/);
});

t.test('config check: a bad value names the line, exit 3', async (t) => {
  const world = makeSyncWorld(t);
  const file = path.join(world.dir, 'config.yaml');
  writeFileSync(
    file,
    `gateway:\n  id: gw-1\n  country: KZ\n  checkpoint: DOSTYK\n  key: k\ntrust:\n  store: s\nsync:\n  brokers:\n    - htp://x\n`,
  );
  const bad = await runCli(['config', 'check', '--syntax-only', file]);
  t.equal(bad.code, 3);
  t.match(bad.stderr, /E_CONFIG_INVALID/);
  t.match(
    bad.stderr,
    `${file}:10: sync.brokers[0]: "htp://x" is not an MQTT URL (expected mqtt://host:port or mqtts://host:port)`,
  );
  t.equal(bad.stdout, '', 'nothing printed as resolved');

  const missing = await runCli(['config', 'check', path.join(world.dir, 'nope.yaml')]);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /E_CONFIG_FILE/);
});

t.test('config check --syntax-only accepts the commented example', async (t) => {
  const res = await runCli(['config', 'check', '--syntax-only', '--quiet', EXAMPLE]);
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stdout, '');
});

/** A configuration for the sync world's gateway with `sync` merged in. */
function configFor(world: ReturnType<typeof makeSyncWorld>, sync: Record<string, unknown>): string {
  const file = path.join(world.dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    stringify({
      gateway: {
        id: IDENTITY.gatewayId,
        country: IDENTITY.country,
        checkpoint: IDENTITY.checkpoint,
        key: world.files.gatewayKey,
      },
      trust: { store: world.files.agentTrust },
      locks: { trustOnFirstUse: true },
      store: { path: 'agent.db' },
      sync: { brokers: ['mqtt://127.0.0.1:1883'], ...sync },
    }),
  );
  return file;
}

t.test('config check: the broker password file is checked like a key file and never printed', async (t) => {
  const world = makeSyncWorld(t);
  const secret = 'the-broker-password-7f3a';
  writeFileSync(path.join(world.dir, 'broker-password'), `${secret}\n`, { mode: 0o600 });
  const file = configFor(world, { username: IDENTITY.gatewayId, passwordFile: 'broker-password' });
  const ok = await runCli(['config', 'check', file]);
  t.equal(ok.code, 0, 'exit 0');
  const resolved = parse(ok.stdout);
  t.equal(resolved.sync.username, IDENTITY.gatewayId);
  t.equal(resolved.sync.passwordFile, path.join(world.dir, 'broker-password'), 'the path, resolved');
  t.notMatch(ok.stdout + ok.stderr, secret, 'the password itself is printed nowhere');

  chmodSync(path.join(world.dir, 'broker-password'), 0o640);
  const loose = await runCli(['config', 'check', file]);
  t.equal(loose.code, 3, 'a group-readable password file: config exit code');
  t.match(
    loose.stderr,
    /config-\w+\.yaml:\d+: sync\.passwordFile: E_KEY_PERMISSIONS: the broker password file .* chmod 600/,
  );
  t.notMatch(loose.stderr, secret);

  // Environment overrides as for every key (in-process: the command's own code, without a
  // process per case); the password itself never goes in the environment.
  const bare = configFor(world, {});
  const viaEnv = checkReferences(
    loadConfig(bare, {
      env: { CTOP_SYNC__USERNAME: 'exchange-user-1', CTOP_SYNC__PASSWORD_FILE: path.join(world.dir, 'nope') },
    }),
  );
  t.equal(viaEnv.problems.length, 1);
  t.match(viaEnv.problems[0], /sync\.passwordFile: E_SYNC_CONFIG: cannot open the broker password file/);
  const alone = t.throws(() => loadConfig(configFor(world, { passwordFile: 'p' }), { env: {} }));
  t.match(
    (alone as Error).message,
    /sync\.username: missing \(expected a user name with sync\.passwordFile/,
    'a password file without a user name',
  );
});

t.test(
  'config check: the client certificate, the client id and the user name must name the gateway',
  async (t) => {
    const world = makeSyncWorld(t);
    const pki = makeTestPki(t);
    const tls = (cn: string) => ({ caFile: pki.caFile, ...pki.client(cn) });
    const tlsBroker = { brokers: ['mqtts://127.0.0.1:8883'] };
    // In-process (the command's own code, without a process per case): the warnings about identity.
    const check = (sync: Record<string, unknown>) =>
      checkReferences(loadConfig(configFor(world, sync), { env: {} }));
    const warnings = (sync: Record<string, unknown>) => {
      const result = check(sync);
      t.same(result.problems, [], 'no problems');
      return result.warnings.filter((l) => /sync\.(tls|clientId|username)/.test(l));
    };
    t.same(
      warnings({ ...tlsBroker, tls: tls(IDENTITY.gatewayId) }),
      [],
      'CN = gateway.id = default client id: silent',
    );
    const old = warnings({
      ...tlsBroker,
      tls: tls(IDENTITY.gatewayId),
      clientId: `ctop-${IDENTITY.gatewayId}`,
    });
    t.equal(old.length, 1, 'the old default client id');
    t.match(
      old[0],
      /:\d+: sync\.clientId: the client id "ctop-gw-dostyk-1" is not the certificate's CN "gw-dostyk-1": .*\(ejabberd\), refuses the connection/,
    );
    t.same(
      warnings({
        ...tlsBroker,
        tls: tls(IDENTITY.gatewayId),
        clientId: 'anything',
        username: IDENTITY.gatewayId,
      }),
      [],
      'user name = CN: the client id is free',
    );
    const stranger = warnings({ ...tlsBroker, tls: tls('gw-other-9') });
    t.equal(stranger.length, 2, 'a certificate of another name');
    t.match(
      stranger[0],
      /sync\.tls\.certFile: the certificate's CN "gw-other-9" is not gateway\.id "gw-dostyk-1": .*ctop\/v1\/\+\/\+\/gw-other-9/,
    );
    t.match(stranger[1], /the client id "gw-dostyk-1" is not the certificate's CN "gw-other-9"/);
    const renamed = warnings({ username: 'someone-else' });
    t.equal(renamed.length, 1, 'a password login under another name');
    t.match(renamed[0], /sync\.username: "someone-else" is not gateway\.id/);

    writeFileSync(path.join(world.dir, 'not-a-cert.pem'), 'hello\n');
    const bad = check({
      ...tlsBroker,
      tls: { ...tls(IDENTITY.gatewayId), certFile: path.join(world.dir, 'not-a-cert.pem') },
    });
    t.equal(bad.problems.length, 1, 'a certificate file that is no certificate');
    t.match(
      bad.problems[0],
      /sync\.tls\.certFile: E_SYNC_CONFIG: .*not-a-cert\.pem is not a readable PEM certificate/,
    );
  },
);

t.test('config check: BLE connect and GATT timeouts beyond the read deadline are flagged', async (t) => {
  const world = makeSyncWorld(t);
  const bleWarnings = (env: NodeJS.ProcessEnv) =>
    checkReferences(loadConfig(configFor(world, {}), { env })).warnings.filter((l) =>
      /ble\.connectTimeoutMs/.test(l),
    );
  t.same(bleWarnings({ CTOP_BLE__ENABLED: 'true' }), [], 'the defaults fit: 10 s + 5 s within 15 s');
  t.match(bleWarnings({ CTOP_BLE__ENABLED: 'true', CTOP_BLE__CONNECT_TIMEOUT_MS: '20000' }), [
    /connect and GATT timeouts \(25000 ms\) exceed serial\.readDeadlineMs \(15000\)/,
  ]);
  t.same(
    bleWarnings({
      CTOP_BLE__ENABLED: 'true',
      CTOP_BLE__CONNECT_TIMEOUT_MS: '20000',
      CTOP_SERIAL__READ_DEADLINE_MS: '30000',
    }),
    [],
    'a longer deadline fits them',
  );
});
