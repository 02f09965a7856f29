import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import type { Command } from 'commander';
import { CtopError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { startSimulatedTrain } from '../../sim/ble-train.js';
import { parseInteger, parseRate } from '../parse.js';

export function register(program: Command): void {
  program
    .command('ble-sim')
    .description(
      'a simulated Bluetooth controller with a train of locks rolling past, on a serial line for --hci-uart',
    )
    .requiredOption(
      '--link <path>',
      'the path `train read --hci-uart` opens (a symlink to the pseudo-terminal)',
    )
    .option('--locks <n>', 'locks on the train (two per wagon)', parseInteger('--locks', 1, 1000), 20)
    .option('--manifest <file>', 'manifest every lock carries (default: 4 KiB of random bytes each)')
    .option('--speed <m/s>', 'train speed', parseInteger('--speed', 1, 40), 3)
    .option('--time-scale <n>', 'simulated seconds per wall second', parseInteger('--time-scale', 1, 16), 1)
    .option('--loss <p>', 'link-layer packet loss', parseRate('--loss'), 0)
    .option(
      '--disconnect-rate <p>',
      'random disconnects per simulated second',
      parseRate('--disconnect-rate'),
      0,
    )
    .option(
      '--max-connections <n>',
      "the controller's connection limit",
      parseInteger('--max-connections', 1, 32),
      5,
    )
    .option('--seed <n>', 'PRNG seed', parseInteger('--seed', 0, 2 ** 31), 1)
    .action(async (opts) => {
      const log = createLogger({ fd: 2 });
      let manifest: Buffer | undefined;
      try {
        manifest = opts.manifest ? readFileSync(opts.manifest) : undefined;
      } catch (err) {
        throw new CtopError('E_FILE', `cannot read --manifest ${opts.manifest}: ${(err as Error).message}`);
      }
      const train = await startSimulatedTrain({
        locks: Array.from({ length: opts.locks }, (_, i) => ({
          lockId: `SSL-SIM-${String(i + 1).padStart(4, '0')}`,
          manifest: manifest ?? randomBytes(4096),
        })),
        timeScale: opts.timeScale,
        seed: opts.seed,
        link: { lossRate: opts.loss, disconnectRatePerSecond: opts.disconnectRate },
        controller: { maxConnections: opts.maxConnections },
        passage: { speedMps: opts.speed, startMs: 3000 },
        log,
      });
      rmSync(opts.link, { force: true });
      symlinkSync(train.radio.port, opts.link);
      process.stdout.write(
        `simulated radio with a train of ${opts.locks} locks at ${opts.link}\n` +
          `read it with: ctop-agent train read --hci-uart ${opts.link} --expect ${opts.locks}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      rmSync(opts.link, { force: true });
      await train.close();
    });
}
