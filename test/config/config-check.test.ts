import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
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
