import { ByteQueue, canceled } from '../../lock/transport/byte-queue.js';
import type { LockLink } from '../../lock/transport/link.js';
import type { LockOutput, SimulatedLock } from './simulated-lock.js';

/**
 * A LockLink whose other end lives in the same process, as node-serialport's binding-mock
 * ships beside the real bindings: for property tests that push thousands of hostile byte
 * streams through the session, where a pty per case would only add minutes.
 */
export class MemoryLink implements LockLink {
  /** What the link stands for: 'ble' lets the session offer binary framing (PROTOCOL.md §13.4). */
  readonly kind: 'serial' | 'ble';
  readonly endpoint: string;
  readonly bytesPerSecond: number | undefined = undefined;
  readonly #queue = new ByteQueue({ highWaterMark: 1024 * 1024 });
  #closed = false;
  /** Where the gateway's writes go. */
  onWrite: (bytes: Uint8Array) => void = () => {};

  constructor(endpoint = 'memory', kind: 'serial' | 'ble' = 'serial') {
    this.endpoint = endpoint;
    this.kind = kind;
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

/**
 * Connects a simulated lock to a fresh MemoryLink and returns the gateway's end. `kind`
 * 'ble' stands for a GATT link: it can carry binary frames.
 */
export function memoryLinkTo(
  lock: SimulatedLock,
  tamper?: (bytes: Buffer) => Buffer,
  kind: 'serial' | 'ble' = 'serial',
): MemoryLink {
  const link = new MemoryLink(`memory:${lock.engine.lockId}`, kind);
  const output: LockOutput = {
    binaryFraming: kind === 'ble',
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
