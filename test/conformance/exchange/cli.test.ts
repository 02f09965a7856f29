import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Ed25519Signer } from '../../../src/exchange-wire/index.js';
import { runCli } from '../../helpers/cli.js';
import { variantOptions } from '../../helpers/exchange-variants.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { makeSyncWorld, startTestExchange } from '../../helpers/sync-world.js';
import { testKeys } from '../../helpers/test-keys.js';

// The 0600 copy: a fresh clone has the committed keys at 0644, which the CLI refuses.
const SIGNER_KEY = testKeys(t).keyFile('kz-customs-signer-1');

function args(brokerUrl: string, world: ReturnType<typeof makeSyncWorld>, report: string, extra: string[]) {
  return [
    'conformance',
    'exchange',
    '--broker',
    brokerUrl,
    '--gateway-key',
    world.files.gatewayKey,
    '--trust',
    world.files.agentTrust,
    '--signer-key',
    SIGNER_KEY,
    '--checkpoint',
    'DOSTYK',
    '--quiet',
    '500',
    '--report',
    report,
    ...extra,
  ];
}

t.test(
  '`ctop-agent conformance exchange` against the reference exchange: a table, exit 0, a JSON report',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    await startTestExchange(t, world, broker.url);
    const report = path.join(world.dir, 'report.json');
    const run = await runCli(args(broker.url, world, report, []), { timeoutMs: 240_000 });
    t.equal(run.code, 0, run.stderr);
    t.match(run.stdout, /^SECTION\s+LEVEL\s+RESULT\s+REQUIREMENT\s+EVIDENCE/m);
    t.match(run.stdout, /EXCHANGE\.md §5\.3 step 2\s+MUST\s+PASS\s+a signature that does not verify/);
    t.match(run.stdout, /receiptLatencyMs: \{"n":\d+,"median":\d+/);
    t.match(run.stdout, /MUST \d+ passed, 0 failed, 4 not checked.*CONFORMS/);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    t.equal(json.format, 'ctop-conformance/1');
    t.equal(json.target, 'exchange');
    t.equal(json.passed, true);
    t.same(
      json.checks.filter((c: { outcome: string }) => c.outcome === 'skip').map((c: { id: string }) => c.id),
      [
        'exchange.restart.durable',
        'exchange.restart.duplicate',
        'exchange.restart.complete',
        'exchange.restart.session',
      ],
      'only the restart checks, for want of commands',
    );
  },
);

t.test(
  'against an exchange that accepts bad signatures: the failed MUST, exit code 5, E_CONFORMANCE_EXCHANGE',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    await startTestExchange(
      t,
      world,
      broker.url,
      variantOptions(
        'accept-bad-signature',
        {
          brokerUrl: broker.url,
          dbPath: path.join(world.dir, 'x.db'),
          key: world.exchangeKey,
          trust: world.exchangeTrust,
        },
        new Ed25519Signer(world.exchangeKey),
      ),
    );
    const report = path.join(world.dir, 'report.json');
    const run = await runCli(args(broker.url, world, report, ['--only', 'rejections']), {
      timeoutMs: 240_000,
    });
    t.equal(run.code, 5, 'the protocol exit code');
    t.match(run.stderr, /E_CONFORMANCE_EXCHANGE/);
    t.match(
      run.stdout,
      /MUST\s+FAIL\s+a signature that does not verify: rejected bad_signature\s+expected rejected bad_signature, got accepted/,
    );
    t.match(run.stdout, /DOES NOT CONFORM/);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    t.equal(json.passed, false);
    t.same(
      json.checks.filter((c: { outcome: string }) => c.outcome === 'fail').map((c: { id: string }) => c.id),
      ['exchange.reject.bad_signature'],
      'exactly that requirement fails',
    );
  },
);

t.test('bad usage is refused before anything is sent', async (t) => {
  const run = await runCli([
    'conformance',
    'exchange',
    '--broker',
    'mqtt://127.0.0.1:1',
    '--gateway-key',
    'k',
    '--trust',
    't',
    '--only',
    'everything',
  ]);
  t.equal(run.code, 2);
  t.match(run.stderr, /--only <sections\.\.\.>' argument 'everything' is invalid/);
});
