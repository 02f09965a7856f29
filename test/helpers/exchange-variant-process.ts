/**
 * The reference exchange as a process, for tests that kill it (test only):
 *
 *   node --import tsx test/helpers/exchange-variant-process.ts --broker <url> --db <file>
 *     --key <exchange.key> --trust <trust.json> [--variant <name>] [--hold-first-receipt]
 *
 * `--variant` breaks it as test/helpers/exchange-variants.ts says. `--hold-first-receipt`
 * stops it at the moment it is about to publish its first receipt: it reads its own
 * database through a second connection, prints `held <json>` — each result's messageId and
 * whether its record is already committed — and blocks, so the test can SIGKILL it between
 * store and receipt (EXCHANGE.md §8: durable before the answer).
 */
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { Ed25519Signer, openReceipt } from '../../src/exchange-wire/index.js';
import { loadPrivateKey, TrustStore } from '../../src/keys/index.js';
import { type ExchangeOptions, startExchange } from '../../src/reference-exchange/index.js';
import { interceptingConnect, VARIANTS, type VariantName, variantOptions } from './exchange-variants.js';

const o = new Command()
  .requiredOption('--broker <url>')
  .requiredOption('--db <file>')
  .requiredOption('--key <file>')
  .requiredOption('--trust <file>')
  .option('--variant <name>')
  .option('--hold-first-receipt')
  .parse()
  .opts<{
    broker: string;
    db: string;
    key: string;
    trust: string;
    variant?: string;
    holdFirstReceipt?: boolean;
  }>();

const key = loadPrivateKey(o.key);
let options: ExchangeOptions = {
  brokerUrl: o.broker,
  dbPath: o.db,
  key,
  trust: TrustStore.load(o.trust),
  keepaliveSeconds: 2,
  reconnectPeriodMs: 100,
};
if (o.variant !== undefined) {
  if (!(o.variant in VARIANTS)) throw new Error(`unknown variant ${o.variant}`);
  options = variantOptions(o.variant as VariantName, options, new Ed25519Signer(key));
}
if (o.holdFirstReceipt) {
  options.connect = interceptingConnect({
    outgoing: (topic, bytes) => {
      if (!topic.endsWith('/receipt')) return bytes;
      const committed = new Database(o.db, { readonly: true });
      const has = committed.prepare<[string], { n: number }>(
        'SELECT count(*) AS n FROM message WHERE message_id = ?',
      );
      const results = openReceipt(bytes).receipt.results.map((r) => ({
        messageId: r.messageId,
        status: r.status,
        recorded: has.get(r.messageId)!.n === 1,
      }));
      committed.close();
      process.stdout.write(`held ${JSON.stringify(results)}\n`);
      // Block here, receipt unsent, until the test's SIGKILL.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return bytes;
    },
  });
}
const exchange = await startExchange(options);
process.stdout.write(`ready ${exchange.address}\n`);
process.on('SIGTERM', () => {
  exchange.stop().finally(() => process.exit(0));
});
