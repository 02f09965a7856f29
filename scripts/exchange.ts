/**
 * The reference customs exchange as a process: `npx tsx scripts/exchange.ts --broker
 * mqtt://127.0.0.1:1883 --db var/exchange.db --key <exchange.key> --trust <trust.json>`.
 * Subscribes to every gateway's upstream topics, records each message once, answers with
 * signed receipts and serves the two queries (firmware-protocol/EXCHANGE.md). Prints its
 * counters every --report seconds and on exit; SIGINT/SIGTERM stop it cleanly; SIGHUP
 * re-reads the trust store (a revocation applies from then on).
 */
import { Command, InvalidArgumentError } from 'commander';
import { CtopError, isCtopError, toCtopError } from '../src/errors.js';
import { loadPrivateKey, TrustStore } from '../src/keys/index.js';
import { createLogger } from '../src/log.js';
import { startExchange } from '../src/reference-exchange/index.js';
import { loadBrokerPassword } from '../src/sync/index.js';

function integer(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be ${min} to ${max}`);
    return n;
  };
}

interface Options {
  broker: string;
  db: string;
  key: string;
  trust: string;
  address: string;
  protocol: number;
  clientId: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  passwordFile?: string;
  report: number;
}

const program = new Command('exchange')
  .description('the reference customs exchange (firmware-protocol/EXCHANGE.md)')
  .requiredOption('--broker <url>', 'MQTT broker, e.g. mqtt://127.0.0.1:1883 or mqtts://broker:8883')
  .requiredOption('--db <file>', 'the exchange database (created 0600)')
  .requiredOption('--key <file>', 'the exchange private key (role exchange) that signs receipts')
  .requiredOption('--trust <file>', 'trust store with the gateway keys and the customs signer keys')
  .option('--address <address>', 'the exchange address envelopes are sent to', 'CTOP://KZ/EXCHANGE')
  .option('--protocol <version>', '5 (MQTT 5) or 4 (MQTT 3.1.1)', integer('--protocol', 4, 5), 5)
  .option('--client-id <id>', 'MQTT client id (one persistent session)', 'ctop-exchange')
  .option('--ca-file <file>', 'CA certificate for an mqtts:// broker')
  .option('--cert-file <file>', 'client certificate (CN = the exchange user of the broker ACL)')
  .option('--key-file <file>', 'client certificate key')
  .option('--username <name>', 'user name for a broker with password login')
  .option('--password-file <file>', 'file holding the broker password (mode 0600; needs --username)')
  .option(
    '--report <seconds>',
    'print the counters every so often (0: never)',
    integer('--report', 0, 86_400),
    60,
  )
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<Options>();
  const log = createLogger({ fd: 2 });
  if (o.protocol !== 4 && o.protocol !== 5)
    throw new CtopError('E_EXCHANGE_CONFIG', '--protocol must be 4 or 5');
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new CtopError('E_EXCHANGE_CONFIG', '--cert-file and --key-file go together');
  }
  if (o.passwordFile !== undefined && o.username === undefined) {
    throw new CtopError('E_EXCHANGE_CONFIG', '--password-file needs --username');
  }
  const trust = TrustStore.load(o.trust);
  const exchange = await startExchange({
    brokerUrl: o.broker,
    dbPath: o.db,
    key: loadPrivateKey(o.key),
    trust,
    address: o.address,
    protocolVersion: o.protocol,
    clientId: o.clientId,
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.passwordFile === undefined ? {} : { password: loadBrokerPassword(o.passwordFile) }),
    ...(o.caFile
      ? { tls: { caFile: o.caFile, ...(o.certFile ? { certFile: o.certFile, keyFile: o.keyFile! } : {}) } }
      : {}),
    log,
  });
  process.stdout.write(`exchange ${exchange.address} ready on ${o.broker}\n`);
  const report = () => process.stdout.write(`${JSON.stringify(exchange.stats)}\n`);
  const timer = o.report > 0 ? setInterval(report, o.report * 1000) : undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    exchange
      .stop()
      .then(report)
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // EXCHANGE.md §5.4: revocations (and new gateway keys) apply from the moment they are
  // loaded, without a restart. A broken file keeps the keys in force.
  process.on('SIGHUP', () => {
    try {
      trust.reload();
      log.info({ keys: trust.size }, 'trust store reloaded');
      process.stdout.write(`trust store reloaded: ${trust.size} keys\n`);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'trust store not reloaded; the previous keys stay in force');
    }
  });
}

main().catch((err) => {
  const e = toCtopError(err, 'E_EXCHANGE_CONFIG');
  process.stderr.write(`exchange: ${e.code}: ${e.message}\n  what to do: ${e.hint}\n`);
  process.exitCode = isCtopError(err) ? e.exitCode : 1;
});
