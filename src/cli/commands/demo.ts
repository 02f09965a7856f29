import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readLock } from '../../lock/reader.js';
import { createLogger } from '../../log.js';
import { startSerialLock } from '../../sim/serial-lock-setup.js';
import { parseInteger } from '../parse.js';
import { createProgress } from '../progress.js';
import { describeLock } from './read.js';

/**
 * `npm start`: the job on embedded defaults, with nothing to configure. Two simulated locks
 * on pseudo-terminals at the inspection bay are read over serial; data lands under ./var.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('run the agent on embedded defaults: simulated locks on pseudo-terminals, data under ./var')
    .option('--data <dir>', 'where to keep what is read', 'var/demo')
    .option(
      '--baud <n>',
      'serial line rate of the simulated locks',
      parseInteger('--baud', 300, 4_000_000),
      115200,
    )
    .action(async (opts) => {
      const log = createLogger({ fd: 2, level: process.env.CTOP_LOG_LEVEL ?? 'warn' });
      mkdirSync(opts.data, { recursive: true, mode: 0o700 });
      const locks = [
        { lockId: 'SSL-KZ-000101', manifestSize: 24 * 1024 },
        {
          lockId: 'SSL-CN-000202',
          manifestSize: 40 * 1024,
          faults: { disconnect: { afterManifestBytes: 16 * 1024 } },
        },
      ];
      process.stdout.write(
        `ctop-agent demo: ${locks.length} locks on serial pseudo-terminals at ${opts.baud} baud\n\n`,
      );
      for (const spec of locks) {
        const lock = await startSerialLock({ ...spec, baudRate: opts.baud, log });
        try {
          const progress = createProgress(spec.lockId, { plainEveryMs: 2000 });
          const result = await readLock({
            open: lock.open,
            gatewayId: 'KZ-DOSTYK-DEMO',
            log,
            onProgress: (p) => {
              if (p.phase === 'manifest' || p.phase === 'retrying') {
                progress.update(
                  p.bytes,
                  p.total,
                  p.phase === 'retrying' ? `link lost, resuming (${p.error?.code})` : '',
                );
              }
            },
          });
          progress.stop();
          if (result.info) process.stdout.write(`${describeLock(result.info)}\n`);
          if (result.manifest) {
            const file = join(opts.data, `${spec.lockId}.manifest`);
            writeFileSync(file, result.manifest, { mode: 0o600 });
            const secs = (result.finishedAt - result.startedAt) / 1000;
            const resumed =
              result.stats.resumedFrom.length > 0
                ? `, resumed at byte ${result.stats.resumedFrom.join(', ')}`
                : '';
            process.stdout.write(
              `read ${result.manifest.byteLength} bytes in ${secs.toFixed(1)} s over ${result.stats.links} link(s)${resumed}; ` +
                `event log ${result.chainProblems.length === 0 ? 'intact' : 'BROKEN'}; saved ${file}\n\n`,
            );
          } else {
            process.stdout.write(`read failed: ${result.error?.code} ${result.error?.message}\n\n`);
          }
        } finally {
          await lock.close();
        }
      }
    });
}
