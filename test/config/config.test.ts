import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import {
  configFromObject,
  configSchema,
  parseConfig,
  parseEnvValue,
  renderConfig,
} from '../../src/config/index.js';
import { keysAt } from '../../src/config/schema-walk.js';
import { type CtopError, isCtopError } from '../../src/errors.js';

const EXAMPLE = fileURLToPath(new URL('../../systemd/config.example.yaml', import.meta.url));

/** A minimal valid configuration, as text, with `extra` lines appended. */
const minimal = (extra = '') => `gateway:
  id: KZ-DOSTYK-GW01
  country: KZ
  checkpoint: DOSTYK
  key: keys/gw.key
trust:
  store: trust.json
sync:
  brokers: [mqtt://127.0.0.1:1883]
${extra}`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'config.yaml', { env, baseDir: '/etc/ctop-agent' });
  } catch (err) {
    if (isCtopError(err)) return (err.details.problems as string[] | undefined) ?? [err.message];
    throw err;
  }
  return [];
}

t.test('a minimal file gets every default; relative paths are taken from the file directory', async (t) => {
  const { config } = parseConfig(minimal(), 'config.yaml', { env: {}, baseDir: '/etc/ctop-agent' });
  t.equal(config.role, 'checkpoint');
  t.equal(config.gateway.key, '/etc/ctop-agent/keys/gw.key');
  t.equal(config.trust.store, '/etc/ctop-agent/trust.json');
  t.equal(config.store.path, '/var/lib/ctop-agent/ctop-agent.db');
  t.equal(config.http.listen, '127.0.0.1:9464');
  t.equal(config.sync.protocolVersion, 5);
  t.equal(config.sync.receiptTimeoutMs, 30_000);
  t.same(config.serial.ports, []);
  t.equal(config.retention.traceabilityDays, 1827);
  t.equal(config.log.level, 'info');
});

t.test('serial.readDeadlineMs: 15 s by default, and never above the 30 s of PROTOCOL.md §10', async (t) => {
  const { config } = parseConfig(minimal(), 'config.yaml', { env: {}, baseDir: '/etc/ctop-agent' });
  t.equal(config.serial.readDeadlineMs, 15_000);
  t.same(problemsOf(minimal('serial:\n  readDeadlineMs: 31000\n')), [
    'config.yaml:11: serial.readDeadlineMs: 31000 is not an integer from 1000 to 30000',
  ]);
});

t.test('errors name the line, the key, the value and what was expected', async (t) => {
  const text = minimal(`  keepaliveSecs: 3
serial:
  ports: [/dev/ttyUSB*]
  baudRate: 12
`)
    .replace('country: KZ', 'country: kz')
    .replace('[mqtt://127.0.0.1:1883]', '[mqtt://a:1883, "htp://x"]');
  t.same(problemsOf(text), [
    'config.yaml:3: gateway.country: "kz" is not an ISO 3166-1 alpha-2 country code such as KZ',
    'config.yaml:9: sync.brokers[1]: "htp://x" is not an MQTT URL (expected mqtt://host:port or mqtts://host:port)',
    `config.yaml:10: sync.keepaliveSecs: unknown key (expected one of: ${keysAt(configSchema, ['sync']).join(', ')})`,
    'config.yaml:13: serial.baudRate: 12 is not an integer from 300 to 4000000',
  ]);
});

t.test('a missing key points at its section; a wrong type says what it got', async (t) => {
  const text = minimal().replace('  checkpoint: DOSTYK\n', '').replace('store: trust.json', 'store: 42');
  t.same(problemsOf(text), [
    'config.yaml:1: gateway.checkpoint: missing (expected a checkpoint name (A–Z 0–9 _ -, e.g. DOSTYK))',
    'config.yaml:6: trust.store: 42 is not the path of the trust store file (customs signer keys, the exchange key)',
  ]);
  t.same(problemsOf(''), [
    'config.yaml: gateway: missing (expected the gateway section (id, country, checkpoint, key))',
    'config.yaml: trust: missing (expected the trust section (store))',
    'config.yaml: sync: missing (expected the sync section (brokers, tls, …))',
  ]);
});

t.test(
  'cross-key rules: TLS brokers need tls, retention order, the loading role leaves devices alone',
  async (t) => {
    t.same(problemsOf(minimal().replace('mqtt://127.0.0.1:1883', 'mqtts://exchange:8883')), [
      'config.yaml:8: sync.tls: missing (expected tls.caFile, certFile and keyFile: broker mqtts://exchange:8883 uses TLS)',
    ]);
    t.same(problemsOf(minimal('  tls: { caFile: ca.pem, certFile: c.pem }\n')), [
      'config.yaml:10: sync.tls.keyFile: missing (expected certFile and keyFile together)',
    ]);
    t.same(problemsOf(minimal('retention:\n  payloadDays: 100\n  traceabilityDays: 30\n')), [
      'config.yaml:12: retention.traceabilityDays: 30 is below retention.payloadDays 100 (expected at least as many days)',
    ]);
    t.same(
      problemsOf(`role: loading\n${minimal('serial:\n  ports: [/dev/ttyUSB0]\nble:\n  enabled: true\n')}`),
      [
        'config.yaml:12: serial.ports: ["/dev/ttyUSB0"] is not allowed in role loading (expected []: `ctop-agent pair` opens the ports)',
        'config.yaml:14: ble.enabled: true is not allowed in role loading (expected false: `ctop-agent pair` uses the radio)',
      ],
    );
    t.same(problemsOf('role: border\n'.concat(minimal())), [
      'config.yaml:1: role: "border" is not checkpoint or loading',
    ]);
  },
);

t.test('YAML syntax errors name line and column', async (t) => {
  const error = (text: string, name: string) => {
    try {
      parseConfig(text, name, { env: {} });
    } catch (err) {
      return err as CtopError;
    }
    return undefined;
  };
  const bad = error('gateway:\n  id: [a\n  country: KZ\n', 'bad.yaml');
  t.equal(bad?.code, 'E_CONFIG_SYNTAX');
  t.match(bad?.message, /^bad\.yaml:\d+:\d+: /);
  const dup = error('a: 1\na: 2\n', 'dup.yaml');
  t.equal(dup?.code, 'E_CONFIG_SYNTAX', 'duplicate keys are refused, not silently overwritten');
  t.match(dup?.message, /^dup\.yaml:2:1: .*unique/i);

  // Found by scripts/fuzz (config target): a file of thousands of stray tags made one
  // message line per error, each with a context excerpt — seconds of work and a message of
  // megabytes. The first twenty are named, the rest counted.
  const flood = error('!a !a\n'.repeat(9_000), 'flood.yaml');
  t.equal(flood?.code, 'E_CONFIG_SYNTAX');
  const lines = flood?.message.split('\n') ?? [];
  t.equal(lines.length, 21, 'twenty problems and a count of the rest');
  t.match(lines[0], /^flood\.yaml:1:\d+: /);
  t.match(lines[20], /^flood\.yaml: … and 17979 more syntax errors$/);
  t.ok((flood?.message.length ?? Infinity) < 8192, 'a message of a readable size');

  // Also found by the fuzzer: aliases resolve after parsing, where yaml throws a bare ReferenceError.
  const alias = error('gateway: *a\n', 'alias.yaml');
  t.equal(alias?.code, 'E_CONFIG_SYNTAX', 'an alias to an anchor never set');
  t.match(alias?.message, /^alias\.yaml: Unresolved alias/);
  const bomb = error(
    `a: &a [x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [*${i === 0 ? 'a' : `b${i - 1}`}, *${i === 0 ? 'a' : `b${i - 1}`}]`).join('\n')}\n`,
    'bomb.yaml',
  );
  t.equal(bomb?.code, 'E_CONFIG_SYNTAX', 'an alias bomb is refused, not expanded');
  t.match(bomb?.message, /^bomb\.yaml: Excessive alias count/);
  const deep = error(`${': '.repeat(2000)}\nrole: checkpoint\n`, 'deep.yaml');
  t.equal(
    deep?.code,
    'E_CONFIG_SYNTAX',
    "2,000 nested empty mappings overflow yaml's parser: refused, not a crash",
  );
  t.match(deep?.message, /^deep\.yaml: nested too deeply/);
  // Tags on one line cost the parser quadratic time (16,000 took 3.7 s): lines are bounded first.
  const tags = error(`role: checkpoint\ngateway: ${'!custom '.repeat(16_000)}\n`, 'tags.yaml');
  t.equal(tags?.code, 'E_CONFIG_SYNTAX');
  t.match(tags?.message, /^tags\.yaml:2:1: a line of 128009 characters \(at most 4096\)$/);
  t.equal(
    parseEnvValue('!a '.repeat(20_000)),
    '!a '.repeat(20_000),
    'a long override is taken as text, not parsed',
  );
});

t.test('environment overrides: CTOP_<SECTION>__<KEY> read as YAML, errors name the variable', async (t) => {
  const env = {
    CTOP_SYNC__BROKERS: '[mqtt://a:1883, mqtts://b:8883]',
    CTOP_SYNC__TLS__CA_FILE: '/etc/ca.pem',
    CTOP_SYNC__TLS__CERT_FILE: 'c.pem',
    CTOP_SYNC__TLS__KEY_FILE: 'k.pem',
    CTOP_SYNC__USERNAME: 'KZ-DOSTYK-GW01',
    CTOP_SYNC__PASSWORD_FILE: 'broker-password',
    CTOP_LOCKS__TRUST_ON_FIRST_USE: 'true',
    CTOP_SERIAL__PORTS__0: '/dev/ttyACM0',
    CTOP_HTTP__LISTEN: '',
    CTOP_LOG_LEVEL: 'debug', // not ours: no section "loglevel"
    CTOP_MOSQUITTO: '/usr/sbin/mosquitto',
  };
  const loaded = parseConfig(minimal('serial:\n  ports: [/dev/ttyUSB0]\n'), 'config.yaml', {
    env,
    baseDir: '/etc/ctop-agent',
  });
  const { config } = loaded;
  t.same(config.sync.brokers, ['mqtt://a:1883', 'mqtts://b:8883']);
  t.same(config.sync.tls, {
    caFile: '/etc/ca.pem',
    certFile: '/etc/ctop-agent/c.pem',
    keyFile: '/etc/ctop-agent/k.pem',
  });
  t.equal(config.sync.username, 'KZ-DOSTYK-GW01');
  t.equal(config.sync.passwordFile, '/etc/ctop-agent/broker-password', 'a path, resolved like the others');
  t.equal(config.locks.trustOnFirstUse, true, 'a boolean, not the string "true"');
  t.same(config.serial.ports, ['/dev/ttyACM0'], 'a list element by index');
  t.equal(config.http.listen, null, 'empty: null (listener off)');
  t.equal(config.log.level, 'info', 'CTOP_LOG_LEVEL is not an override');
  t.match(renderConfig(loaded), /# sync\.brokers set by environment CTOP_SYNC__BROKERS/);

  t.same(problemsOf(minimal(), { CTOP_SYNC__BROKER: 'mqtt://x:1' }), [
    `environment CTOP_SYNC__BROKER: sync has no key "BROKER" (expected one of: ${keysAt(configSchema, ['sync']).join(', ')})`,
  ]);
  t.same(problemsOf(minimal(), { CTOP_SYNC__USERNAME: '"gw\\u0007"' }), [
    'environment CTOP_SYNC__USERNAME: sync.username: "gw\\u0007" is not an MQTT user name (1–256 characters, no control characters)',
  ]);
  t.same(problemsOf(minimal(), { CTOP_SYNC__KEEPALIVE_SECONDS: 'soon' }), [
    'environment CTOP_SYNC__KEEPALIVE_SECONDS: sync.keepaliveSeconds: "soon" is not an integer from 1 to 65535',
  ]);
  t.equal(parseEnvValue('30'), 30);
  t.equal(parseEnvValue('mqtt://a:1883'), 'mqtt://a:1883');
  t.equal(parseEnvValue('{'), '{', 'text that is not YAML stays a string');
});

t.test('the resolved configuration prints paths, never file contents', async (t) => {
  const out = renderConfig(configFromObject(parse(minimal()), 'x.yaml', { baseDir: '/etc/ctop-agent' }));
  t.match(out, /^# resolved from x\.yaml\n/);
  t.match(out, /key: \/etc\/ctop-agent\/keys\/gw\.key/);
  t.same(parse(out).gateway.key, '/etc/ctop-agent/keys/gw.key', 'valid YAML');
});

/** Every key of the schema, as dotted paths. */
function leafPaths(prefix: string[] = []): string[] {
  const keys = keysAt(configSchema, prefix);
  if (keys.length === 0) return [prefix.join('.')];
  return keys.flatMap((k) => {
    const below = keysAt(configSchema, [...prefix, k]);
    return below.length === 0 ? [[...prefix, k].join('.')] : leafPaths([...prefix, k]);
  });
}

t.test('systemd/config.example.yaml is valid and documents every key with its default', async (t) => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const loaded = parseConfig(text, EXAMPLE, { env: {} });
  t.equal(loaded.config.gateway.id, 'KZ-DOSTYK-GW01');
  const defaults = configFromObject({
    gateway: { id: 'x', country: 'KZ', checkpoint: 'X', key: 'k' },
    trust: { store: 's' },
    sync: { brokers: ['mqtt://a:1'] },
  }).config as unknown as Record<string, Record<string, unknown>>;
  const example = parse(text) as Record<string, Record<string, unknown>>;
  for (const leaf of leafPaths()) {
    const parts = leaf.split('.');
    t.match(text, new RegExp(`^\\s*#?\\s*${parts.at(-1)}:`, 'm'), `${leaf} is in the example`);
    // Where the example writes a value for a key with a default, it is that default.
    const [section, key] = parts as [string, string];
    const required = ['gateway', 'trust', 'sync.brokers', 'sync.tls'].some((p) => leaf.startsWith(p));
    if (parts.length === 2 && !required && example[section]?.[key] !== undefined) {
      t.same(example[section]![key], defaults[section]![key], `${leaf}: the example shows the default`);
    }
  }
  t.equal(path.basename(EXAMPLE), 'config.example.yaml');
});
