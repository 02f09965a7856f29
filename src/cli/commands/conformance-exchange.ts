import { type Command, Option } from 'commander';
import {
  EXCHANGE_SECTIONS,
  type ExchangeSection,
  runExchangeConformance,
} from '../../conformance/exchange/index.js';
import { renderReport, writeReport } from '../../conformance/report.js';
import { CtopError } from '../../errors.js';
import { loadPrivateKey, TrustStore } from '../../keys/index.js';
import { loadBrokerPassword } from '../../sync/index.js';
import { parseInteger } from '../parse.js';

interface ExchangeKitOptions {
  broker: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  servername?: string;
  username?: string;
  passwordFile?: string;
  protocol: number;
  gatewayKey: string;
  trust: string;
  signerKey?: string;
  country: string;
  checkpoint: string;
  gatewayId?: string;
  exchangeAddress?: string;
  restartCommand?: string;
  stopCommand?: string;
  startCommand?: string;
  receiptTimeout: number;
  quiet: number;
  only?: ExchangeSection[];
  report?: string;
}

/** `conformance exchange`: plays a gateway against a customs exchange under test (docs/CONFORMANCE.md). */
export function registerExchangeConformance(conformance: Command): void {
  conformance
    .command('exchange')
    .description(
      'play a gateway against a customs exchange under test: every message kind, resends, every rejection on purpose, both queries, restarts (EXCHANGE.md v1.1)',
    )
    .requiredOption('--broker <url>', 'the broker the exchange listens on, e.g. mqtts://broker.test:8883')
    .option('--ca-file <file>', 'CA certificate of an mqtts:// broker')
    .option('--cert-file <file>', 'client certificate (CN = the gateway id, for the broker ACL)')
    .option('--key-file <file>', 'client certificate key')
    .option('--servername <name>', 'TLS server name, when it differs from the broker host')
    .option('--username <name>', 'broker user name, for password login (normally the gateway id)')
    .option('--password-file <file>', 'file holding the broker password (owner-only)')
    .option('--protocol <version>', '5 (MQTT 5) or 4 (MQTT 3.1.1)', parseInteger('--protocol', 4, 5), 5)
    .requiredOption(
      '--gateway-key <file>',
      'a gateway key (role gateway) the exchange under test has registered',
    )
    .requiredOption('--trust <file>', 'trust store with the exchange key(s) its receipts are signed with')
    .option(
      '--signer-key <file>',
      'a customs signer key the exchange trusts (test environment): valid manifests',
    )
    .option('--country <cc>', "the gateway's country (topic and address)", 'KZ')
    .option('--checkpoint <name>', "the gateway's checkpoint (topic and address)", 'CONFORMANCE')
    .option('--gateway-id <id>', "the gateway id (default: the gateway key's kid up to its first dot)")
    .option('--exchange-address <address>', "the exchange's address (default CTOP://{country}/EXCHANGE)")
    .option('--restart-command <sh>', 'a shell command that stops the exchange hard and starts it again')
    .option('--stop-command <sh>', 'a shell command that stops the exchange (kill -9 is the honest test)')
    .option('--start-command <sh>', 'a shell command that starts it again')
    .option(
      '--receipt-timeout <ms>',
      "how long to wait for each receipt or answer (a gateway's receipt timeout)",
      parseInteger('--receipt-timeout', 100, 600_000),
      30_000,
    )
    .option('--quiet <ms>', 'silence that counts as "not answered"', parseInteger('--quiet', 0, 60_000), 2000)
    .addOption(new Option('--only <sections...>', 'run only these sections').choices(EXCHANGE_SECTIONS))
    .option('--report <file>', 'also write the report as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 every MUST requirement checked passes (not checked ones are listed); 5 at least one MUST fails\n(E_CONFORMANCE_EXCHANGE); 3 the broker or a key cannot be used; 2 usage.',
    )
    .action(async (o: ExchangeKitOptions) => {
      if ((o.certFile === undefined) !== (o.keyFile === undefined))
        throw new CtopError('E_USAGE', '--cert-file and --key-file go together');
      if ((o.stopCommand === undefined) !== (o.startCommand === undefined))
        throw new CtopError('E_USAGE', '--stop-command and --start-command go together');
      if (o.passwordFile !== undefined && o.username === undefined)
        throw new CtopError('E_USAGE', '--password-file needs --username');
      const report = await runExchangeConformance({
        brokerUrl: o.broker,
        ...(o.caFile
          ? {
              tls: {
                caFile: o.caFile,
                ...(o.certFile ? { certFile: o.certFile, keyFile: o.keyFile! } : {}),
                ...(o.servername ? { servername: o.servername } : {}),
              },
            }
          : {}),
        protocolVersion: o.protocol as 4 | 5,
        ...(o.username === undefined ? {} : { username: o.username }),
        ...(o.passwordFile === undefined ? {} : { password: loadBrokerPassword(o.passwordFile) }),
        gatewayKey: loadPrivateKey(o.gatewayKey),
        trust: TrustStore.load(o.trust),
        ...(o.signerKey ? { signerKey: loadPrivateKey(o.signerKey) } : {}),
        country: o.country,
        checkpoint: o.checkpoint,
        ...(o.gatewayId ? { gatewayId: o.gatewayId } : {}),
        ...(o.exchangeAddress ? { exchangeAddress: o.exchangeAddress } : {}),
        restart: {
          ...(o.restartCommand ? { restart: o.restartCommand } : {}),
          ...(o.stopCommand ? { stop: o.stopCommand, start: o.startCommand! } : {}),
        },
        receiptTimeoutMs: o.receiptTimeout,
        quietMs: o.quiet,
        ...(o.only ? { sections: o.only } : {}),
      });
      process.stdout.write(renderReport(report));
      if (o.report) writeReport(o.report, report);
      if (!report.passed) {
        throw new CtopError(
          'E_CONFORMANCE_EXCHANGE',
          `${report.summary.MUST.fail} MUST requirement${report.summary.MUST.fail === 1 ? '' : 's'} failed`,
        );
      }
    });
}
