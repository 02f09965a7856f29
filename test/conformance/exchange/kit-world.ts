/** What the exchange kit tests share: the kit as a gateway of the test world, and the broken variants run against it. */
import path from 'node:path';
import tap, { type Test } from 'tap';
import {
  type ExchangeConformanceOptions,
  runExchangeConformance,
} from '../../../src/conformance/exchange/index.js';
import type { ConformanceReport } from '../../../src/conformance/report.js';
import { Ed25519Signer } from '../../../src/exchange-wire/index.js';
import { loadPrivateKey } from '../../../src/keys/index.js';
import { exchangeCommands, startNow } from '../../helpers/exchange-commands.js';
import { VARIANTS, type Variant, type VariantName, variantOptions } from '../../helpers/exchange-variants.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import {
  EXCHANGE_ADDRESS,
  makeSyncWorld,
  type SyncWorld,
  startTestExchange,
} from '../../helpers/sync-world.js';
import { testKeys } from '../../helpers/test-keys.js';

/** A customs signer the fixture trust store (hence the test exchange) trusts. */
// From the 0600 copy: a fresh clone has the committed keys at 0644, which the loader refuses.
const SIGNER = loadPrivateKey(testKeys(tap).keyFile('kz-customs-signer-1'));

/** The kit as a gateway of the test world; timeouts are safety nets, never what is measured. */
export function kitOptions(
  world: SyncWorld,
  brokerUrl: string,
  over: Partial<ExchangeConformanceOptions> = {},
): ExchangeConformanceOptions {
  return {
    brokerUrl,
    gatewayKey: world.gatewayKey,
    trust: world.agentTrust,
    checkpoint: 'DOSTYK',
    exchangeAddress: EXCHANGE_ADDRESS,
    signerKey: SIGNER,
    receiptTimeoutMs: 15_000,
    quietMs: 500,
    ...over,
  };
}

export const failed = (report: ConformanceReport) => report.checks.filter((c) => c.outcome === 'fail');
export const named = (report: ConformanceReport, id: string) => report.checks.find((c) => c.id === id);

/** Why each variant's requirement fails: its evidence, so a timeout cannot pass for the fault. */
const BECAUSE: Record<VariantName, RegExp> = {
  'no-dedup': /duplicate: false/,
  'computed-hash': /echoed .*declared|not the declared payloadSha256/,
  'no-envelope-sha': /no envelopeSha256/,
  'accept-bad-signature': /got accepted/,
  'accept-unknown-key': /got accepted/,
  'drop-wrong-content-type': /no receipt/,
  'lenient-payload': /got accepted/,
  'answers-oversize': /answered: accepted/,
  'v1.1-only': /no receipt/,
  'silent-queries': /no answer/,
  amnesiac: /records after the restart|duplicate false/,
  'no-session': /no receipt/,
};

/** Runs the kit against variant `name` and checks it fails the requirements the variant names, for its fault. */
export async function checkVariant(t: Test, name: VariantName): Promise<void> {
  const variant: Variant = VARIANTS[name];
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  let restart: ExchangeConformanceOptions['restart'];
  if (variant.process) {
    const commands = exchangeCommands(t, world, broker.url, { variant: name });
    startNow(commands);
    restart = { stop: commands.stop, start: commands.start };
  } else {
    await startTestExchange(
      t,
      world,
      broker.url,
      variantOptions(
        name,
        {
          brokerUrl: broker.url,
          dbPath: path.join(world.dir, 'variant.db'),
          key: world.exchangeKey,
          trust: world.exchangeTrust,
        },
        new Ed25519Signer(world.exchangeKey),
      ),
    );
  }
  const report = await runExchangeConformance(
    kitOptions(world, broker.url, {
      sections: variant.sections,
      // Where the fault is answers that never come, the kit need not wait long for each.
      ...(name === 'silent-queries' ? { answerTimeoutMs: 2500 } : {}),
      ...(name === 'v1.1-only' ? { receiptTimeoutMs: 5000 } : {}),
      ...(restart ? { restart } : {}),
    }),
  );
  t.notOk(report.passed, 'the run does not conform');
  for (const id of variant.breaks) {
    const check = named(report, id);
    t.equal(check?.outcome, 'fail', `${id} fails`);
    t.match(check?.evidence, BECAUSE[name], `${id} fails for the fault: ${check?.evidence}`);
  }
}
