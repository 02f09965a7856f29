import { type Command, Option } from 'commander';
import { toConformanceReport } from '../../conformance/lock/report.js';
import { CHECK_GROUPS, type CheckGroup, runLockConformance } from '../../conformance/lock/suite.js';
import { renderReport, writeReport } from '../../conformance/report.js';
import { CtopError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { connectLock, lockLinkOptions } from '../lock-link.js';
import { parseHex, parseInteger } from '../parse.js';

/** `conformance lock`: plays the gateway against a lock under test (docs/CONFORMANCE.md). */
export function registerLockConformance(conformance: Command): void {
  lockLinkOptions(conformance.command('lock'), 'the lock under test')
    .description(
      'play the gateway against a lock under test on a serial line or over BLE and judge it against PROTOCOL.md §16 (docs/CONFORMANCE.md)',
    )
    .option(
      '--pin-key <hex>',
      "the lock's provisioned Ed25519 identity key (32 bytes hex): checks AUTH-2",
      parseHex('--pin-key', 32),
    )
    .option('--report <file>', 'also write the report as JSON')
    .addOption(new Option('--only <groups...>', 'run only these groups of checks').choices(CHECK_GROUPS))
    .option(
      '--answer-timeout-ms <n>',
      'silence after which an answer is given up (default 3 s + 4 line times)',
      parseInteger('--answer-timeout-ms', 100, 600_000),
    )
    .option(
      '--max-manifest <bytes>',
      'largest manifest read in full',
      parseInteger('--max-manifest', 1, 2 ** 32),
      16 * 1024 * 1024,
    )
    .option('--gateway-id <id>', 'gateway id sent in HELLO', 'ctop-conformance')
    .addHelpText(
      'after',
      '\nExit codes: 0 every MUST requirement tested passes (SHOULD failures are listed, not fatal);\n5 at least one MUST fails (E_CONFORMANCE_LOCK); 4 the serial device cannot be opened; 2 usage.',
    )
    .action(async (opts) => {
      // Every check but GATT-1 on discovered links: each judges the lock, not its announcement.
      const link = await connectLock(opts, createLogger({ level: 'warn' }), 'discover');
      const lock = await runLockConformance({
        open: link.open,
        transport: link.transport,
        ...(link.announced ? { announced: link.announced } : {}),
        ...(link.advertising ? { advertising: link.advertising } : {}),
        ...(link.transport === 'serial' ? { bytesPerSecond: opts.baud / 10 } : {}),
        gatewayId: opts.gatewayId,
        maxManifestBytes: opts.maxManifest,
        ...(opts.pinKey ? { pinnedKey: opts.pinKey } : {}),
        ...(opts.only ? { groups: opts.only as CheckGroup[] } : {}),
        ...(opts.answerTimeoutMs ? { answerTimeoutMs: opts.answerTimeoutMs } : {}),
      }).finally(() => link.close());
      const report = toConformanceReport(
        lock,
        link.transport === 'serial' ? { serial: opts.serial, baud: String(opts.baud) } : { ble: opts.ble },
      );
      process.stdout.write(renderReport(report));
      if (opts.report) writeReport(opts.report, report);
      if (!report.passed) {
        const failed = report.checks
          .filter((c) => c.level === 'MUST' && c.outcome === 'fail')
          .map((c) => c.id);
        throw new CtopError('E_CONFORMANCE_LOCK', `MUST requirements not met: ${failed.join(', ')}`);
      }
    });
}
