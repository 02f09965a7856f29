import { SerialPort } from 'serialport';
import { CtopError } from '../../errors.js';
import { ByteQueue, canceled } from './byte-queue.js';
import type { LockLink } from './link.js';

export interface SerialLinkOptions {
  path: string;
  /** Default 115200. */
  baudRate?: number;
}

/**
 * A lock on a serial line (RS-232/RS-485 adapter or USB CDC) through node-serialport.
 * Input already waiting in the kernel when the port opens is flushed: it belongs to an
 * earlier session and would only look like replayed frames.
 */
export class SerialLink implements LockLink {
  readonly kind = 'serial' as const;
  readonly endpoint: string;
  readonly bytesPerSecond: number;
  #port: SerialPort;
  #queue: ByteQueue;
  #closed = false;

  private constructor(port: SerialPort, path: string, baudRate: number) {
    this.#port = port;
    this.endpoint = path;
    this.bytesPerSecond = baudRate / 10;
    this.#queue = new ByteQueue({ pause: () => port.pause(), resume: () => port.resume() });
    port.on('data', (chunk: Buffer) => this.#queue.push(chunk));
    port.on('error', (err: Error) => this.#drop(err));
    port.on('close', (err?: Error) => this.#drop(err ?? new Error('port closed')));
  }

  static async open({ path, baudRate = 115200 }: SerialLinkOptions): Promise<SerialLink> {
    if (!Number.isInteger(baudRate) || baudRate < 300 || baudRate > 4_000_000) {
      throw new CtopError('E_USAGE', `baud rate ${baudRate} is not an integer between 300 and 4000000`);
    }
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      await new Promise<void>((resolve, reject) => port.flush((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      if (port.isOpen) port.close();
      throw new CtopError('E_TRANSPORT_OPEN', `cannot open ${path}: ${(err as Error).message}`, {
        cause: err,
        details: { endpoint: path },
      });
    }
    return new SerialLink(port, path, baudRate);
  }

  #drop(err: Error): void {
    if (this.#closed) return;
    this.#queue.fail(
      new CtopError('E_LOCK_DISCONNECTED', `serial link ${this.endpoint} dropped: ${err.message}`, {
        cause: err,
        details: { endpoint: this.endpoint },
      }),
    );
  }

  read(): Promise<Uint8Array> {
    return this.#queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(canceled(this.endpoint));
    return new Promise((resolve, reject) => {
      this.#port.write(Buffer.from(bytes), (err) => {
        if (err) {
          reject(
            this.#closed
              ? canceled(this.endpoint)
              : new CtopError('E_LOCK_DISCONNECTED', `write to ${this.endpoint} failed: ${err.message}`, {
                  cause: err,
                }),
          );
        } else resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.fail(canceled(this.endpoint), true);
    if (this.#port.isOpen) {
      await new Promise<void>((resolve) => this.#port.close(() => resolve()));
    }
  }
}
