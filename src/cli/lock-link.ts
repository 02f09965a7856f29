import type { Command } from 'commander';
import type { LockAdvertising } from '../conformance/lock/run.js';
import { CtopError } from '../errors.js';
import { BleRadio } from '../lock/transport/ble-radio.js';
import type { LinkOpener } from '../lock/transport/link.js';
import { SerialLink } from '../lock/transport/serial-link.js';
import type { Logger } from '../log.js';
import { findLock } from '../pairing/index.js';
import { parseInteger } from './parse.js';

/** How a command reaches one lock: a serial line or Bluetooth LE (found by its lock id). */
export interface LockLinkChoice {
  serial?: string;
  baud: number;
  ble?: string;
  hci: number;
  hciUart?: string;
  scanMs: number;
}

export interface ConnectedLock {
  open: LinkOpener;
  close: () => Promise<void>;
  transport: 'serial' | 'ble';
  /** Over BLE, when the lock announces its GATT handles (PROTOCOL.md §13.5): links at them alone. */
  announced?: { rxHandle: number; open: LinkOpener };
  /** Over BLE: the lock's advertising, as the conformance kit judges it (ADV-1). */
  advertising?: LockAdvertising;
}

/** The options of LockLinkChoice: `--serial <path>` or `--ble <lock id>`, with their details. */
export function lockLinkOptions(command: Command, lock: string): Command {
  return command
    .option('--serial <path>', `serial device of ${lock}, e.g. /dev/ttyUSB0`)
    .option('--baud <n>', 'serial line rate', parseInteger('--baud', 300, 4_000_000), 115200)
    .option('--ble <id>', `lock id of ${lock} over Bluetooth LE (found by its advertisement)`)
    .option('--hci <n>', 'with --ble: kernel HCI device number (hci0 = 0)', parseInteger('--hci', 0, 31), 0)
    .option('--hci-uart <path>', 'with --ble: a controller speaking HCI over a serial line instead')
    .option(
      '--scan-ms <n>',
      'with --ble: how long to listen for the lock',
      parseInteger('--scan-ms', 100, 600_000),
      20_000,
    );
}

/**
 * Opens the radio (for --ble) and finds the lock; `close` releases what was opened. `gatt`:
 * how BLE links find the lock's pipe — at the handles it announces when it does (default), or
 * always by discovery (the conformance kit, which judges the announcement on its own).
 */
export async function connectLock(
  opts: LockLinkChoice,
  log: Logger,
  gatt: 'auto' | 'discover' = 'auto',
): Promise<ConnectedLock> {
  if ((opts.serial === undefined) === (opts.ble === undefined)) {
    throw new CtopError('E_USAGE', 'name the lock link: --serial <path> or --ble <lock id>');
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
  const radio = await BleRadio.open({ bindings, log });
  try {
    const { address, advertisement } = await findLock(radio, opts.ble!, { timeoutMs: opts.scanMs });
    const { rxHandle } = advertisement;
    return {
      open: () => radio.open(address, { gatt }),
      close: () => radio.close(),
      transport: 'ble',
      advertising: {
        sealState: advertisement.sealState,
        reportsFor: (durationMs) => radio.reportsOf(address, durationMs),
      },
      ...(rxHandle !== undefined
        ? { announced: { rxHandle, open: () => radio.open(address, { gatt: 'announced' }) } }
        : {}),
    };
  } catch (err) {
    await radio.close();
    throw err;
  }
}
