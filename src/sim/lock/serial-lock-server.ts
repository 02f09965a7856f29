import { setTimeout as sleep } from 'node:timers/promises';
import { SerialPort } from 'serialport';
import { type Logger, silentLogger } from '../../log.js';
import type { PtyPair } from '../pty-pair.js';
import { PacedOutput } from './paced-output.js';
import type { SimulatedLock } from './simulated-lock.js';

export interface SerialLockServerOptions {
  lock: SimulatedLock;
  /** The lock's end of the serial line (a pty from PtyPair, or any tty). */
  path: string;
  /** Line rate the lock's output is paced to, 8N1. Default 115200. */
  baudRate?: number;
  /** When given, a dropped link kills and restores this pair, as a pulled cable would. */
  pty?: PtyPair;
  /** How long the cable stays pulled. Default 300 ms. */
  reconnectDelayMs?: number;
  log?: Logger;
}

/** Serves a simulated lock on a serial line, paced to its baud rate. */
export class SerialLockServer {
  readonly #options: SerialLockServerOptions;
  readonly #log: Logger;
  #port: SerialPort | undefined;
  #output: PacedOutput | undefined;
  #stopped = false;
  #reconnecting: Promise<void> | undefined;

  private constructor(options: SerialLockServerOptions) {
    this.#options = options;
    this.#log = (options.log ?? silentLogger).child({ component: 'lock-sim-serial', path: options.path });
  }

  static async start(options: SerialLockServerOptions): Promise<SerialLockServer> {
    const server = new SerialLockServer(options);
    await server.#open();
    return server;
  }

  async #open(): Promise<void> {
    const { path, baudRate = 115200, lock } = this.#options;
    const port = new SerialPort({ path, baudRate, autoOpen: false, lock: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    const output = new PacedOutput((bytes) => port.write(bytes), baudRate / 10);
    port.on('data', (bytes: Buffer) => lock.receive(bytes));
    // Errors after a cut are expected (EIO on a vanished pty); the reconnect handles them.
    port.on('error', (err) => this.#log.debug({ err: err.message }, 'port error'));
    this.#port = port;
    this.#output = output;
    lock.attach({
      write: (bytes) => output.write(bytes),
      get queued() {
        return output.queued;
      },
      dropLink: () => {
        this.#reconnecting ??= this.#dropLink().finally(() => {
          this.#reconnecting = undefined;
        });
      },
    });
  }

  async #close(): Promise<void> {
    this.#options.lock.detach();
    this.#output?.close();
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async #dropLink(): Promise<void> {
    const { pty, reconnectDelayMs = 300 } = this.#options;
    if (!pty) {
      this.#log.warn('link drop requested but the line is not a PtyPair; ignoring');
      return;
    }
    await this.#close();
    await pty.cut();
    await sleep(reconnectDelayMs);
    // The cable goes back in even when the machine is too loaded for socat or the open to
    // succeed at once: a lock left detached would look like one that never answers again.
    for (let attempt = 1; !this.#stopped; attempt++) {
      try {
        await pty.restore();
        await this.#open();
        return;
      } catch (err) {
        this.#log.warn(
          { err: (err as Error).message, attempt },
          'reconnecting the simulated cable failed; retrying',
        );
        await this.#close().catch(() => undefined);
        await pty.cut();
        await sleep(Math.min(1000, 50 * attempt));
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reconnecting;
    await this.#close();
  }
}
