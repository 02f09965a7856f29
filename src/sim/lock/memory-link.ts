import { ByteQueue, canceled } from '../../lock/transport/byte-queue.js';
import type { LockLink } from '../../lock/transport/link.js';
import type { LockOutput, SimulatedLock } from './simulated-lock.js';

/**
 * A LockLink whose other end lives in the same process, as node-serialport's binding-mock
 * ships beside the real bindings: for property tests that push thousands of hostile byte
 * streams through the session, where a pty per case would only add minutes.
 */
export class MemoryLink implements LockLink {
  readonly kind = 'serial' as const;
  readonly endpoint: string;
  readonly bytesPerSecond: number | undefined = undefined;
  readonly #queue = new ByteQueue({ highWaterMark: 1024 * 1024 });
  #closed = false;
  /** Where the gateway's writes go. */
  onWrite: (bytes: Uint8Array) => void = () => {};

  constructor(endpoint = 'memory') {
    this.endpoint = endpoint;
  }

  /** Bytes as if sent by the lock. */
  deliver(bytes: Uint8Array): void {
    if (!this.#closed) this.#queue.push(Buffer.from(bytes));
  }

  /** The lock side hangs up. */
  hangUp(): void {
    this.#queue.fail(new Error('hung up'));
  }

  read(): Promise<Uint8Array> {
    return this.#queue.read();
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw canceled(this.endpoint);
    this.onWrite(bytes);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.fail(canceled(this.endpoint), true);
  }
}

/** Connects a simulated lock to a fresh MemoryLink and returns the gateway's end. */
export function memoryLinkTo(lock: SimulatedLock, tamper?: (bytes: Buffer) => Buffer): MemoryLink {
  const link = new MemoryLink(`memory:${lock.engine.lockId}`);
  const output: LockOutput = {
    write: (bytes) => queueMicrotask(() => link.deliver(tamper ? tamper(bytes) : bytes)),
    queued: 0,
    dropLink: () => {
      lock.detach();
      link.hangUp();
    },
  };
  lock.attach(output);
  link.onWrite = (bytes) => queueMicrotask(() => lock.receive(bytes));
  return link;
}
