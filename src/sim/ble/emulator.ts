import { SerialPort } from 'serialport';
import { CtopError } from '../../errors.js';
import { type Logger, silentLogger } from '../../log.js';
import { type ControllerOptions, HciController } from './controller.js';
import { H4Parser } from './h4-parser.js';
import type { SimWorld } from './world.js';

/**
 * Bytes for the host that may wait for the line (in this process, the pty and socat). Past
 * it the controller stops taking peripheral data, as a controller whose UART to the host is
 * flow-controlled does: a host that cannot keep up slows the air, memory stays bounded.
 */
const HOST_BACKLOG_LIMIT = 64 * 1024;

export interface HciEmulatorOptions extends ControllerOptions {
  world: SimWorld;
  /** The controller's end of the serial line (PtyPair.lockPath, or any tty). */
  path: string;
  /** Nominal; a pseudo-terminal ignores it. Default 1000000, as noble's UART driver uses. */
  baudRate?: number;
  log?: Logger;
}

export interface EmulatorStats {
  bytesFromHost: number;
  bytesToHost: number;
  /** Bytes handed to the serial port and not yet written to the line. */
  bytesToHostPending: number;
  /** Bytes from the host that were not part of an H4 command or ACL packet. */
  bytesDiscarded: number;
}

/**
 * An HCI controller on a serial line, speaking H4 like a UART Bluetooth dongle (an nRF52
 * running Zephyr's hci_uart, for instance). noble reaches it through its own HCI-over-UART
 * driver, so noble's real HCI, L2CAP, ATT and GATT code runs against the simulated world.
 */
export class HciEmulator {
  readonly controller: HciController;
  readonly stats: EmulatorStats = {
    bytesFromHost: 0,
    bytesToHost: 0,
    bytesToHostPending: 0,
    bytesDiscarded: 0,
  };
  /** Reads only. */
  readonly #input: SerialPort;
  /** Writes only: a second descriptor for the same line (see start()). */
  readonly #output: SerialPort;
  readonly #parser: H4Parser;
  readonly #log: Logger;
  #out: Buffer[] = [];
  #outBytes = 0;
  #flush: NodeJS.Immediate | undefined;
  #stopped = false;

  private constructor(o: HciEmulatorOptions, input: SerialPort, output: SerialPort) {
    this.#log = (o.log ?? silentLogger).child({ component: 'ble-sim-hci', path: o.path });
    this.#input = input;
    this.#output = output;
    this.controller = new HciController(
      o.world,
      o,
      (packet) => this.#send(packet),
      o.log ?? silentLogger,
      () => this.#outBytes + this.stats.bytesToHostPending < HOST_BACKLOG_LIMIT,
    );
    this.#parser = new H4Parser({
      onDiscard: (n) => {
        this.stats.bytesDiscarded += n;
        this.#log.warn({ bytes: n }, 'bytes from the host skipped: not an H4 command or ACL packet');
      },
    });
    this.#parser.on('data', (packet: Buffer) => this.controller.receive(packet));
    input.on('data', (chunk: Buffer) => {
      this.stats.bytesFromHost += chunk.length;
      this.#parser.write(chunk);
    });
    // A vanished pty (the pair was cut) reports EIO; the line is simply gone.
    for (const port of [input, output])
      port.on('error', (err) => this.#log.debug({ err: err.message }, 'serial port error'));
  }

  /**
   * Opens the line twice, one descriptor for reading and one for writing. With a single
   * SerialPort, a write that meets a full pty waits for "writable" while the pending read's
   * "readable" poll replaces it (@serialport/bindings-cpp's Poller::poll restarts uv_poll
   * with the newest event only): when the host then stays quiet, the write waits for ever
   * and the radio hangs mid-transfer. Separate descriptors have separate pollers.
   */
  static async start(o: HciEmulatorOptions): Promise<HciEmulator> {
    const open = async (): Promise<SerialPort> => {
      const port = new SerialPort({
        path: o.path,
        baudRate: o.baudRate ?? 1_000_000,
        autoOpen: false,
        lock: false,
      });
      await new Promise<void>((resolve, reject) =>
        port.open((err) =>
          err
            ? reject(
                new CtopError('E_BLESIM_PORT', `cannot open ${o.path}: ${err.message}`, {
                  cause: err,
                  details: { path: o.path },
                }),
              )
            : resolve(),
        ),
      );
      return port;
    };
    const input = await open();
    try {
      return new HciEmulator(o, input, await open());
    } catch (err) {
      await new Promise<void>((resolve) => input.close(() => resolve()));
      throw err;
    }
  }

  get world(): SimWorld {
    return this.controller.world;
  }

  /** Powers the controller off: connections end without events, the port closes. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.controller.close();
    if (this.#flush) clearImmediate(this.#flush);
    this.#out = [];
    this.#outBytes = 0;
    this.#parser.removeAllListeners('data');
    this.#parser.destroy();
    this.#input.removeAllListeners('data');
    for (const port of [this.#input, this.#output]) {
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    }
  }

  /** Packets of one event-loop turn go out in one write. */
  #send(packet: Buffer): void {
    if (this.#stopped) return;
    this.#out.push(packet);
    this.#outBytes += packet.length;
    this.#flush ??= setImmediate(() => {
      this.#flush = undefined;
      const out = this.#out;
      this.#out = [];
      this.#outBytes = 0;
      if (out.length === 0 || this.#stopped) return;
      const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
      this.stats.bytesToHost += bytes.length;
      this.stats.bytesToHostPending += bytes.length;
      this.#output.write(bytes, () => {
        this.stats.bytesToHostPending -= bytes.length;
      });
    });
  }
}
