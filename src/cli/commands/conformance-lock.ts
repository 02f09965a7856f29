import { type Command, Option } from 'commander';
import { toConformanceReport } from '../../conformance/lock/report.js';
import { CHECK_GROUPS, type CheckGroup, runLockConformance } from '../../conformance/lock/suite.js';
import { renderReport, writeReport } from '../../conformance/report.js';
import { CtopError } from '../../errors.js';
import { BleRadio } from '../../lock/transport/ble-radio.js';
import type { LinkOpener } from '../../lock/transport/link.js';
import { SerialLink } from '../../lock/transport/serial-link.js';
import { createLogger } from '../../log.js';
import { bleLockOpener } from '../../pairing/index.js';
import { parseHex, parseInteger } from '../parse.js';

interface LinkChoice {
  serial?: string;
  baud: number;
  ble?: string;
  hci: number;
  hciUart?: string;
  scanMs: number;
}

/** The lock under test on a serial line or over BLE (found by its advertised lock id). */
async function connect(
  opts: LinkChoice,
): Promise<{ open: LinkOpener; close: () => Promise<void>; transport: 'serial' | 'ble' }> {
  if ((opts.serial === undefined) === (opts.ble === undefined)) {
    throw new CtopError('E_USAGE', 'name the lock under test: --serial <path> or --ble <lock id>');
  }
  if (opts.serial !== undefined) {
    const path = opts.serial;
    return {
      open: () => SerialLink.open({ path, baudRate: opts.baud }),
      close: async () => {},
      transport: 'serial',
    };
  }
  const bindings = opts.hciUart
    ? { hciDriver: 'uart' as const, bindParams: { uart: { port: opts.hciUart, baudRate: 1_000_000 } } }
    : { deviceId: opts.hci };
  const radio = await BleRadio.open({ bindings, log: createLogger({ level: 'warn' }) });
  try {
    return {
      open: await bleLockOpener(radio, opts.ble!, { timeoutMs: opts.scanMs }),
      close: () => radio.close(),
      transport: 'ble',
    };
  } catch (err) {
    await radio.close();
    throw err;
  }
}

/** `conformance lock`: plays the gateway against a lock under test (docs/CONFORMANCE.md). */
export function registerLockConformance(conformance: Command): void {
  conformance
    .command('lock')
    .description(
      'play the gateway against a lock under test on a serial line or over BLE and judge it against PROTOCOL.md §16 (docs/CONFORMANCE.md)',
    )
    .option('--serial <path>', 'serial device of the lock under test, e.g. /dev/ttyUSB0')
    .option('--baud <n>', 'line rate', parseInteger('--baud', 300, 4_000_000), 115200)
    .option('--ble <id>', 'lock id of the lock under test over Bluetooth LE (found by its advertisement)')
    .option('--hci <n>', 'with --ble: kernel HCI device number (hci0 = 0)', parseInteger('--hci', 0, 31), 0)
    .option('--hci-uart <path>', 'with --ble: a controller speaking HCI over a serial line instead')
    .option(
      '--scan-ms <n>',
      'with --ble: how long to listen for the lock',
      parseInteger('--scan-ms', 100, 600_000),
      20_000,
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
      const link = await connect(opts);
      const lock = await runLockConformance({
        open: link.open,
        transport: link.transport,
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
