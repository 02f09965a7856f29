import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { CtopError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { PHYS, type Phy, SENSITIVITY_DBM } from '../../sim/ble/air-time.js';
import { SCANNER_SHARES, type ScannerShare } from '../../sim/ble/shared-air.js';
import { audibleRange, passageForAudibleRange, trainPassage } from '../../sim/ble/train.js';
import { startSimulatedTrain } from '../../sim/ble-train.js';
import { parseInteger, parseNumber, parseRate } from '../parse.js';

function parsePhy(value: string): Phy {
  if (!(PHYS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--phy must be one of ${PHYS.join(', ')}, got "${value}"`);
  }
  return value as Phy;
}

function parseScannerShare(value: string): ScannerShare {
  if (!(SCANNER_SHARES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `--scanner-share must be one of ${SCANNER_SHARES.join(', ')}, got "${value}"`,
    );
  }
  return value as ScannerShare;
}

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
      "distance from the antenna (8 m from the track) at which a lock's mean signal falls to the receiver's sensitivity; nearer the edge, more packets are lost (default: 27.5 m, a 0 dBm lock and a -95 dBm receiver)",
      parseNumber('--range', 10, 300, ' m'),
    )
    .option(
      '--phy <phy>',
      'PHY of the connections: 1m or 2m (2m: twice the rate, 3 dB less range)',
      parsePhy,
      '1m',
    )
    .option(
      '--sensitivity <dBm>',
      "the gateway receiver's sensitivity on the 1M PHY",
      parseNumber('--sensitivity', -110, -40, ' dBm'),
      SENSITIVITY_DBM['1m'],
    )
    .option(
      '--adv-interval <ms>',
      'how often each lock advertises (default PROTOCOL.md §13.2: 20 ms, the locks being sealed)',
      parseNumber('--adv-interval', 20, 10_240, ' ms'),
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
    .option(
      '--accept-list-size <n>',
      "entries of the controller's Filter Accept List, from which the gateway connects to whichever listed lock it hears first (0: a controller without one; the gateway then connects one named lock at a time)",
      parseInteger('--accept-list-size', 0, 255),
      8,
    )
    .option(
      '--scanner-share <how>',
      "how the controller shares its air with its scanner and initiator: preempt (each scan window's start cuts the link event under way and keeps the air until the next anchor, as Zephyr's link layer does), contender (they take a link's share while they listen) or leftover (they hear only in what the links leave, as Nordic's S140 with link events as long as the interval)",
      parseScannerShare,
      'preempt',
    )
    .option('--seed <n>', 'PRNG seed', parseInteger('--seed', 0, 2 ** 31), 1)
    .option(
      '--line-framing',
      'locks of PROTOCOL.md revision 1.1: they ignore the offer of binary framing (§13.4) and speak base64 lines (and announce no GATT handles)',
    )
    .option(
      '--no-announced-handles',
      'locks of revision 1.2: no RX handle in the scan response (§13.5), so the gateway discovers their service',
    )
    .action(async (opts) => {
      const log = createLogger({ fd: 2 });
      let manifest: Buffer | undefined;
      try {
        manifest = opts.manifest ? readFileSync(opts.manifest) : undefined;
      } catch (err) {
        throw new CtopError('E_FILE', `cannot read --manifest ${opts.manifest}: ${(err as Error).message}`);
      }
      const audibleM: number = opts.range ?? audibleRange(opts.sensitivity);
      const passage = {
        speedMps: opts.speed,
        startMs: 3000,
        ...passageForAudibleRange(audibleM, opts.sensitivity),
      };
      const train = await startSimulatedTrain({
        locks: Array.from({ length: opts.locks }, (_, i) => ({
          lockId: `SSL-SIM-${String(i + 1).padStart(4, '0')}`,
          manifest: manifest ?? randomBytes(4096),
          ...(opts.lineFraming ? { faults: { lineOnly: true } } : {}),
          ...(opts.announcedHandles === false ? { announcedRxHandle: false as const } : {}),
        })),
        timeScale: opts.timeScale,
        seed: opts.seed,
        link: {
          phy: opts.phy,
          lossRate: opts.loss,
          disconnectRatePerSecond: opts.disconnectRate,
          ...(opts.connInterval === undefined ? {} : { connectionIntervalMs: opts.connInterval }),
        },
        controller: {
          maxConnections: opts.maxConnections,
          sensitivityDbm: opts.sensitivity,
          filterAcceptListSize: opts.acceptListSize,
          scannerShare: opts.scannerShare,
        },
        passage,
        ...(opts.advInterval === undefined ? {} : { advertisingIntervalMs: opts.advInterval }),
        log,
      });
      rmSync(opts.link, { force: true });
      symlinkSync(train.radio.port, opts.link);
      const { dwellMs } = trainPassage(0, { speedMps: opts.speed, rangeM: audibleM }).presence;
      process.stdout.write(
        `simulated radio with a train of ${opts.locks} locks at ${opts.link}\n` +
          `speed ${opts.speed} m/s (${(opts.speed * 3.6).toFixed(1)} km/h) · range ${Number(audibleM.toFixed(1))} m · each lock in range ${(dwellMs / 1000).toFixed(1)} s · ${opts.phy.toUpperCase()} PHY${opts.phy === '2m' ? ` (its links reach ${audibleRange(opts.sensitivity + 3, passage.rssiAt1mDbm).toFixed(1)} m)` : ''} · scanner share: ${opts.scannerShare}\n` +
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
