import type { SimConnection, SimPeripheralApp } from './peripheral-app.js';

/** Where a byte-stream device writes; the shape of LockOutput in src/sim/lock/simulated-lock.ts. */
export interface ByteStreamOutput {
  write(bytes: Buffer): void;
  /** Bytes written and not yet notified. */
  readonly queued: number;
  /** Ends the BLE connection from the peripheral's side. */
  dropLink(): void;
  /** GATT delimits nothing a lock must resynchronise on: binary frames are possible (PROTOCOL.md §13.4). */
  readonly binaryFraming?: boolean;
}

/**
 * A device that speaks a byte stream, attached while a link is up; SimulatedLock
 * (src/sim/lock/simulated-lock.ts) has this shape, so the lock simulator plugs in unchanged.
 */
export interface ByteStreamEndpoint {
  attach(output: ByteStreamOutput): void;
  receive(bytes: Uint8Array): void;
  detach(): void;
}

export interface ByteStreamAppOptions {
  /**
   * Bytes the firmware's TX ring buffer holds; writes beyond it are dropped (and counted), as
   * an overflowing UART-over-BLE buffer drops them. Default 64 KiB.
   */
  maxQueuedBytes?: number;
}

/**
 * Runs a byte-stream device behind the lock's GATT model, as a Nordic-UART-style firmware
 * does: RX writes go to the device in order; what the device writes is cut into values of
 * at most ATT MTU − 3 bytes and notified on TX as fast as the TX buffer drains, once the
 * central has enabled notifications (until then it waits in the ring buffer).
 */
export class ByteStreamApp implements SimPeripheralApp {
  readonly endpoint: ByteStreamEndpoint;
  /** Bytes dropped because the ring buffer was full. */
  overflowed = 0;
  readonly #max: number;
  #queue: Buffer[] = [];
  #queued = 0;
  #connection: SimConnection | undefined;

  constructor(endpoint: ByteStreamEndpoint, options: ByteStreamAppOptions = {}) {
    const { maxQueuedBytes = 64 * 1024 } = options;
    if (!(Number.isInteger(maxQueuedBytes) && maxQueuedBytes > 0))
      throw new TypeError('maxQueuedBytes must be > 0');
    this.endpoint = endpoint;
    this.#max = maxQueuedBytes;
  }

  onConnect(c: SimConnection): void {
    this.#connection = c;
    this.#queue = [];
    this.#queued = 0;
    const app = this;
    this.endpoint.attach({
      write: (bytes) => {
        if (this.#connection !== c) return;
        const room = this.#max - this.#queued;
        if (bytes.length > room) this.overflowed += bytes.length - Math.max(0, room);
        if (room <= 0) return;
        const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
        this.#queue.push(kept);
        this.#queued += kept.length;
        this.#pump(c);
      },
      get queued() {
        return app.#connection === c ? app.#queued : 0;
      },
      dropLink: () => c.disconnect(),
      binaryFraming: true,
    });
  }

  onSubscribe(c: SimConnection): void {
    this.#pump(c);
  }

  onRxWrite(_c: SimConnection, value: Uint8Array): void {
    this.endpoint.receive(value);
  }

  onTxRoom(c: SimConnection): void {
    this.#pump(c);
  }

  onDisconnect(c: SimConnection): void {
    if (this.#connection !== c) return;
    this.#connection = undefined;
    this.#queue = [];
    this.#queued = 0;
    this.endpoint.detach();
  }

  #pump(c: SimConnection): void {
    if (this.#connection !== c || !c.subscribed) return;
    while (this.#queued > 0 && c.txRoom > 0) {
      const size = Math.min(c.maxNotifyLength, this.#queued);
      const value = this.#take(size);
      if (!c.notify(value)) break;
    }
  }

  #take(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.#queue[0]!;
      if (head.length <= need) {
        parts.push(head);
        this.#queue.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.#queue[0] = head.subarray(need);
        need = 0;
      }
    }
    this.#queued -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }
}
