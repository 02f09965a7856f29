import type { Command } from 'commander';
import { CtopError, ERRORS } from '../../errors.js';
import { ingestRead } from '../../ingest/ingest-read.js';
import { TrustStore } from '../../keys/index.js';
import type { LockReadResult } from '../../lock/reader.js';
import { BleRadio } from '../../lock/transport/ble-radio.js';
import { createLogger } from '../../log.js';
import { inspectManifest } from '../../manifest/index.js';
import { openStore } from '../../store/index.js';
import { TrainReader } from '../../train/train-reader.js';
import { parseInteger } from '../parse.js';
import { formatSummary, TrainView } from '../train-view.js';

export function register(program: Command): void {
  const train = program.command('train').description('trains of locks passing the gateway');
  train
    .command('read')
    .description(
      'read every lock of the next train passing the Bluetooth radio, with a live view and a summary',
    )
    .option('--ble', 'read over Bluetooth LE (the only train transport)', true)
    .option(
      '--hci <n>',
      'kernel HCI device number (hci0 = 0); needs CAP_NET_RAW and CAP_NET_ADMIN',
      parseInteger('--hci', 0, 31),
      0,
    )
    .option(
      '--user-channel',
      'take the adapter for the agent alone (HCI user channel; bring it down first: hciconfig hciN down)',
    )
    .option(
      '--hci-uart <path>',
      'a controller speaking HCI over a serial line instead (or a simulated radio: ctop-agent ble-sim)',
    )
    .option(
      '--expect <n>',
      'locks the train carries; the summary lists how many were never heard',
      parseInteger('--expect', 1, 10_000),
    )
    .option(
      '--concurrency <n>',
      "simultaneous connections (the controller's limit)",
      parseInteger('--concurrency', 1, 32),
      5,
    )
    .option(
      '--quiet-ms <n>',
      'the train has passed when nothing new was heard for this long',
      parseInteger('--quiet-ms', 500, 600_000),
      8000,
    )
    .option(
      '--gateway-id <id>',
      'our gateway id, sent to the locks',
      process.env.CTOP_GATEWAY_ID ?? 'ctop-cli',
    )
    .option('--trust <file>', 'verify every manifest against this trust store')
    .option('--db <file>', 'store every read in this database (needs --trust)')
    .option('--tofu', 'pin the identity key of a lock seen for the first time (with --db)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 every lock heard was read and none is missing; 4 locks failed or are missing;\n6 a clone, impersonation, hash or tamper failure among them (hold the containers).',
    )
    .action(async (opts) => {
      const log = createLogger({ fd: 2, level: process.env.CTOP_LOG_LEVEL ?? 'warn' });
      const bindings = opts.hciUart
        ? { hciDriver: 'uart' as const, bindParams: { uart: { port: opts.hciUart, baudRate: 1_000_000 } } }
        : { deviceId: opts.hci, ...(opts.userChannel ? { userChannel: true } : {}) };
      if (opts.db && !opts.trust)
        throw new CtopError('E_USAGE', '--db needs --trust: reads are stored verified');
      const trust = opts.trust ? TrustStore.load(opts.trust) : undefined;
      const store = opts.db
        ? openStore({ path: opts.db, trustOnFirstUse: opts.tofu === true, log })
        : undefined;
      const verify = (result: LockReadResult): { verified: boolean } | undefined => {
        if (!trust || !result.manifest) return undefined;
        if (store) {
          const stored = ingestRead(result, { store, trust, gatewayId: opts.gatewayId, log });
          return { verified: stored.manifest?.verification === 'valid' };
        }
        return { verified: inspectManifest(result.manifest, trust).verification.status === 'valid' };
      };
      const radio = await BleRadio.open({ bindings, log });
      const reader = new TrainReader({
        radio,
        gatewayId: opts.gatewayId,
        maxConcurrent: opts.concurrency,
        trainQuietMs: opts.quietMs,
        ...(opts.expect ? { expected: opts.expect } : {}),
        ingest: verify,
        log,
      });
      const view = new TrainView();
      reader.on('lock', (p) => view.lock(p));
      const redraw = setInterval(() => view.draw(reader.board.current), 250);
      const stop = () => void reader.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const next = reader.nextTrain();
        await reader.start();
        const summary = await next;
        view.draw(reader.board.last[0]);
        process.stdout.write(
          opts.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary, trust !== undefined),
        );
        const integrity = summary.failed.find(
          (f) => ERRORS[f.code as keyof typeof ERRORS]?.category === 'integrity',
        );
        if (integrity)
          throw new CtopError(
            integrity.code as keyof typeof ERRORS,
            `${integrity.lockId}: ${integrity.message}`,
          );
        if (summary.failed.length > 0 || summary.missing > 0) {
          throw new CtopError(
            'E_LOCK_TIMEOUT',
            `${summary.failed.length} lock(s) failed and ${summary.missing} missing of the train ${summary.trainId}`,
          );
        }
      } finally {
        clearInterval(redraw);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await reader.stop();
        await radio.close();
        store?.close();
      }
    });
}
