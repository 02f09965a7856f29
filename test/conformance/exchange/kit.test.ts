import t from 'tap';
import { EXCHANGE_REQUIREMENTS, runExchangeConformance } from '../../../src/conformance/exchange/index.js';
import { exchangeCommands, startNow } from '../../helpers/exchange-commands.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { makeSyncWorld, startTestExchange } from '../../helpers/sync-world.js';
import { failed, kitOptions, named } from './kit-world.js';

t.test('the reference exchange as a process passes every requirement, hard restarts included', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const commands = exchangeCommands(t, world, broker.url);
  startNow(commands);
  const report = await runExchangeConformance(
    kitOptions(world, broker.url, { restart: { stop: commands.stop, start: commands.start } }),
  );
  t.same(
    failed(report).map((c) => `${c.id}: ${c.evidence}`),
    [],
    'no requirement fails',
  );
  t.same(
    report.checks.filter((c) => c.outcome === 'skip').map((c) => c.id),
    [],
    'none left unchecked',
  );
  t.same(
    report.checks.map((c) => c.id).sort(),
    EXCHANGE_REQUIREMENTS.map((r) => `exchange.${r.id}`).sort(),
    'every requirement of the kit is in the report, once',
  );
  t.ok(report.passed);
  const latency = report.figures.receiptLatencyMs as Record<string, number>;
  t.ok(
    (latency.n ?? 0) > 30,
    `a latency figure over ${latency.n} receipts is reported (median ${latency.median} ms)`,
  );
});

t.test('without the options they need, requirements are reported not checked, never passed', async (t) => {
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  await startTestExchange(t, world, broker.url);
  const { signerKey: _none, ...options } = kitOptions(world, broker.url);
  const report = await runExchangeConformance({ ...options, sections: ['delivery', 'restart'] });
  for (const r of EXCHANGE_REQUIREMENTS.filter((r) => r.needs === 'signer-key' && r.id.startsWith('accept')))
    t.equal(named(report, `exchange.${r.id}`)?.outcome, 'skip', `${r.id} skipped without a signer key`);
  for (const id of ['restart.durable', 'restart.session'])
    t.equal(named(report, `exchange.${id}`)?.outcome, 'skip', `${id} skipped without commands`);
  t.ok(report.passed, 'a skipped MUST is not a failed one');
});

t.test(
  'one --restart-command: durability and duplicates checked, the session check left unchecked',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const commands = exchangeCommands(t, world, broker.url);
    startNow(commands);
    const report = await runExchangeConformance(
      kitOptions(world, broker.url, {
        sections: ['restart'],
        restart: { restart: `${commands.stop}; ${commands.start}` },
      }),
    );
    for (const id of ['restart.durable', 'restart.duplicate', 'restart.complete'])
      t.equal(named(report, `exchange.${id}`)?.outcome, 'pass', `${id} passes`);
    t.equal(named(report, 'exchange.restart.session')?.outcome, 'skip', 'no moment in between to publish in');
  },
);
