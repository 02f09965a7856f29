import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import type { Command } from 'commander';
import { CtopError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { trainPassage } from '../../sim/ble/train.js';
import { startSimulatedTrain } from '../../sim/ble-train.js';
import { parseInteger, parseNumber, parseRate } from '../parse.js';

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
    .option(
      '--speed <m/s>',
      'train speed, fractional (10 km/h = 2.78)',
      parseNumber('--speed', 0.1, 40, ' m/s'),
      3,
    )
    .option(
      '--range <m>',
      'distance from the antenna at which a lock is heard (the antenna stands 8 m from the track)',
      parseNumber('--range', 10, 300, ' m'),
      60,
    )
    .option(
      '--adv-interval <ms>',
      'how often each lock advertises',
      parseNumber('--adv-interval', 20, 10_240, ' ms'),
      100,
    )
    .option(
      '--conn-interval <ms>',
      "the locks' preferred connection interval (default: what the central asks for)",
      parseNumber('--conn-interval', 7.5, 4000, ' ms'),
    )
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
        link: {
          lossRate: opts.loss,
          disconnectRatePerSecond: opts.disconnectRate,
          ...(opts.connInterval === undefined ? {} : { connectionIntervalMs: opts.connInterval }),
        },
        controller: { maxConnections: opts.maxConnections },
        passage: { speedMps: opts.speed, rangeM: opts.range, startMs: 3000 },
        advertisingIntervalMs: opts.advInterval,
        log,
      });
      rmSync(opts.link, { force: true });
      symlinkSync(train.radio.port, opts.link);
      const { dwellMs } = trainPassage(0, { speedMps: opts.speed, rangeM: opts.range }).presence;
      process.stdout.write(
        `simulated radio with a train of ${opts.locks} locks at ${opts.link}\n` +
          `speed ${opts.speed} m/s (${(opts.speed * 3.6).toFixed(1)} km/h) · range ${opts.range} m · each lock in range ${(dwellMs / 1000).toFixed(1)} s\n` +
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
