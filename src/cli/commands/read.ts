import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../../atomic-file.js';
import { CtopError } from '../../errors.js';
import { EVENT_KIND_NAMES } from '../../lock/codec/constants.js';
import type { LockInfo } from '../../lock/codec/messages.js';
import { readLock } from '../../lock/reader.js';
import { SerialLink } from '../../lock/transport/serial-link.js';
import { createLogger } from '../../log.js';
import { parseHex, parseInteger } from '../parse.js';
import { createProgress } from '../progress.js';

const SEAL_STATES = ['unsealed', 'sealed', 'TAMPERED'];

export function describeLock(info: LockInfo): string {
  return [
    `lock        ${info.id}`,
    `firmware    ${info.fw}`,
    `identity    ${Buffer.from(info.key).toString('hex')}`,
    `battery     ${info.bat}%`,
    `seal        ${SEAL_STATES[info.seal] ?? info.seal}`,
    `manifest    ${info.msize} bytes, sha256 ${Buffer.from(info.mhash).toString('hex')}`,
    `events      ${info.ecount}`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('read')
    .description(
      'read one lock over a serial line: verify its identity, save its manifest, check its event log',
    )
    .requiredOption('--serial <path>', 'serial device of the lock, e.g. /dev/ttyUSB0')
    .option('--baud <n>', 'line rate', parseInteger('--baud', 300, 4_000_000), 115200)
    .requiredOption('--out <file>', 'where to write the manifest bytes exactly as read')
    .option(
      '--gateway-id <id>',
      'our gateway id, sent to the lock',
      process.env.CTOP_GATEWAY_ID ?? 'ctop-cli',
    )
    .option(
      '--pin-key <hex>',
      "the lock's expected Ed25519 identity key (32 bytes hex)",
      parseHex('--pin-key', 32),
    )
    .option('--attempts <n>', 'links opened at most', parseInteger('--attempts', 1, 100), 6)
    .addOption(new Option('--json', 'print the result as JSON instead of text'))
    .addHelpText(
      'after',
      '\nExit codes: 0 read and verified; 4 link or timeout; 5 protocol violation; 6 identity, hash or event-log\nintegrity failure (treat the container as suspect). See docs/ERRORS.md.',
    )
    .action(async (opts) => {
      const log = createLogger({ fd: 2, level: process.env.CTOP_LOG_LEVEL ?? 'warn' });
      const progress = opts.json ? undefined : createProgress('manifest');
      const result = await readLock({
        open: () => SerialLink.open({ path: opts.serial, baudRate: opts.baud }),
        gatewayId: opts.gatewayId,
        attempts: opts.attempts,
        pinnedKey: opts.pinKey,
        log,
        onProgress: (p) => {
          if (p.phase === 'manifest' || p.phase === 'retrying') {
            progress?.update(
              p.bytes,
              p.total,
              p.phase === 'retrying' ? `retry ${p.attempt}: ${p.error?.code}` : '',
            );
          }
        },
      });
      progress?.stop();
      if (result.manifest) {
        // Confidential (CTOP Art. 6): owner-only from creation, also when it replaces a
        // file that was readable by others (writeFileSync would keep that file's mode).
        writeFileAtomic(opts.out, result.manifest, 0o600);
      }
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({
            outcome: result.outcome,
            error: result.error && { code: result.error.code, message: result.error.message },
            lockId: result.info?.id,
            manifestBytes: result.manifest?.byteLength,
            events: result.events.length,
            chainProblems: result.chainProblems,
            stats: result.stats,
            durationMs: result.finishedAt - result.startedAt,
          })}\n`,
        );
      } else {
        if (result.info) process.stdout.write(`${describeLock(result.info)}\n`);
        for (const e of result.events) {
          const when = new Date(e.time * 1000).toISOString();
          process.stdout.write(`  event #${e.counter} ${when} ${EVENT_KIND_NAMES[e.kind] ?? e.kind}\n`);
        }
        if (result.manifest) {
          const secs = (result.finishedAt - result.startedAt) / 1000;
          process.stdout.write(
            `wrote ${result.manifest.byteLength} bytes to ${opts.out} in ${secs.toFixed(1)} s\n`,
          );
        }
      }
      if (result.error) throw result.error;
      if (result.chainProblems.length > 0) {
        throw new CtopError(
          'E_LOCK_TAMPER',
          `event log of ${result.info?.id}: ${result.chainProblems.map((p) => `${p.kind} at #${p.counter}`).join(', ')}`,
        );
      }
    });
}
