import type { Characteristic, Peripheral } from '@stoprocent/noble';
import { type Clock, ClockTimeout, systemClock, withTimeout } from '../../clock.js';
import { CtopError } from '../../errors.js';
import { type Logger, silentLogger } from '../../log.js';
import { BLE_RX_UUID, BLE_SERVICE_UUID, BLE_TX_UUID } from './ble-gatt.js';
import { ByteQueue, canceled } from './byte-queue.js';
import type { LockLink } from './link.js';

/** noble spells UUIDs as lower-case hex without dashes. */
const noDashes = (uuid: string) => uuid.replace(/-/g, '');
export const NOBLE_SERVICE_UUID = noDashes(BLE_SERVICE_UUID);
const RX = noDashes(BLE_RX_UUID);
const TX = noDashes(BLE_TX_UUID);

/** noble has no connect timeout of its own: a lock that does not answer is given this long. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface BleLinkOptions {
  /** noble has no connect timeout of its own (docs/BLE-SIM.md). Default 10 s. */
  connectTimeoutMs?: number;
  /** Nor an ATT timeout: a device that never answers GATT would hang discovery. Default 5 s. */
  gattTimeoutMs?: number;
  /** The clock the timeouts run on (a simulated radio's, in tests). Default: the system clock. */
  clock?: Clock;
  log?: Logger;
}

/**
 * A lock over BLE (PROTOCOL.md §13): requests written to RX without response, split to the
 * ATT MTU; answers notified on TX and handed on as bytes, reassembled into lines by the
 * session exactly as on a serial line. Knows nothing of frames.
 */
export class BleLink implements LockLink {
  readonly kind = 'ble' as const;
  readonly endpoint: string;
  readonly bytesPerSecond = undefined;
  readonly #peripheral: Peripheral;
  readonly #rx: Characteristic;
  readonly #tx: Characteristic;
  // Notifications cannot be paused: past the mark the link fails instead of buffering a flood.
  readonly #queue = new ByteQueue({ highWaterMark: 64 * 1024 });
  readonly #onData: (data: Buffer) => void;
  readonly #onDisconnect: (reason: number) => void;
  readonly #clock: Clock;
  #closed = false;
  /** When the link dropped or was closed (the clock's monotonic ms); undefined while up. */
  #endedAt: number | undefined;
  /** The write under way: the next waits for it (see write()). */
  #writing: Promise<void> = Promise.resolve();
  /** Frames written since the last turn began: they go out together in the next. */
  #pending: { bytes: Uint8Array; resolve: () => void; reject: (err: unknown) => void }[] = [];

  private constructor(peripheral: Peripheral, rx: Characteristic, tx: Characteristic, clock: Clock) {
    this.#peripheral = peripheral;
    this.#clock = clock;
    this.endpoint = peripheral.address;
    this.#rx = rx;
    this.#tx = tx;
    this.#onData = (data) => this.#queue.push(data);
    this.#onDisconnect = (reason) => {
      this.#endedAt ??= clock.monotonic();
      this.#queue.fail(
        new CtopError(
          'E_LOCK_DISCONNECTED',
          `BLE link to ${this.endpoint} dropped (HCI reason 0x${reason.toString(16)})`,
          {
            details: { endpoint: this.endpoint, reason },
          },
        ),
      );
    };
    tx.on('data', this.#onData);
    peripheral.once('disconnect', this.#onDisconnect);
  }

  /** Payload bytes per write: the ATT MTU in force minus the 3-byte ATT header. */
  get chunkSize(): number {
    return (this.#peripheral.mtu ?? 23) - 3;
  }

  /**
   * Connects, finds the lock service and subscribes to TX, each step bounded in time.
   * `attemptOver` runs once the connection attempt is over, with whether it connected,
   * before the GATT set-up: the radio may scan again.
   */
  static async open(
    peripheral: Peripheral,
    options: BleLinkOptions = {},
    attemptOver?: (connected: boolean) => void,
  ): Promise<BleLink> {
    const log = (options.log ?? silentLogger).child({ component: 'ble-link', address: peripheral.address });
    const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const gattMs = options.gattTimeoutMs ?? 5_000;
    const clock = options.clock ?? systemClock;
    try {
      await withTimeout(clock, peripheral.connectAsync(), connectMs, () => peripheral.cancelConnect());
      attemptOver?.(true);
    } catch (err) {
      attemptOver?.(false);
      throw new CtopError(
        'E_BLE_CONNECT',
        `cannot connect to ${peripheral.address}: ${describe(err, connectMs)}`,
        {
          cause: err,
          details: { endpoint: peripheral.address },
        },
      );
    }
    try {
      const { characteristics } = await withTimeout(
        clock,
        peripheral.discoverSomeServicesAndCharacteristicsAsync([NOBLE_SERVICE_UUID], [RX, TX]),
        gattMs,
      );
      const rx = characteristics.find((c) => c.uuid === RX);
      const tx = characteristics.find((c) => c.uuid === TX);
      if (!rx || !tx) {
        throw new CtopError(
          'E_BLE_GATT',
          `${peripheral.address} does not serve the lock RX/TX characteristics`,
        );
      }
      const link = new BleLink(peripheral, rx, tx, clock);
      await withTimeout(clock, tx.subscribeAsync(), gattMs);
      log.debug({ mtu: peripheral.mtu }, 'BLE link up');
      return link;
    } catch (err) {
      const dropped = peripheral.state !== 'connected';
      await withTimeout(clock, peripheral.disconnectAsync(), 2000).catch(() => undefined);
      if (err instanceof CtopError) throw err;
      if (dropped) {
        // The link broke during discovery (fading, the lock moving off): worth another try.
        throw new CtopError(
          'E_LOCK_DISCONNECTED',
          `BLE link to ${peripheral.address} dropped during GATT setup`,
          {
            cause: err,
            details: { endpoint: peripheral.address },
          },
        );
      }
      throw new CtopError(
        'E_BLE_GATT',
        `GATT setup with ${peripheral.address} failed: ${describe(err, gattMs)}`,
        {
          cause: err,
          details: { endpoint: peripheral.address },
        },
      );
    }
  }

  read(): Promise<Uint8Array> {
    return this.#queue.read();
  }

  /**
   * Writes go out whole and in order: a frame larger than one ATT write is several writes,
   * and a second frame written meanwhile (a window of WRITE requests) must not interleave its
   * pieces with the first's — with binary framing (PROTOCOL.md §13.4) that breaks the stream.
   * Frames written while a turn waits go out in that turn, back to back (several frames MAY
   * share a packet, §13.3): a window refilled with four READs is one packet, not four. Every
   * packet the gateway sends takes air from the lock's notifications — on the 1M PHY at a 15 ms
   * interval a packet of requests costs a connection event one of its six notifications.
   */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ bytes, resolve, reject });
      if (this.#pending.length > 1) return; // the turn already waiting takes it too
      const turn = this.#writing.then(async () => {
        const batch = this.#pending;
        this.#pending = [];
        try {
          await this.#writeNow(
            batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((b) => b.bytes)),
          );
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      });
      this.#writing = turn;
    });
  }

  async #writeNow(bytes: Uint8Array): Promise<void> {
    const size = this.chunkSize;
    for (let off = 0; off < bytes.byteLength; off += size) {
      if (this.#closed) throw canceled(this.endpoint);
      if (this.#peripheral.state !== 'connected') {
        throw new CtopError('E_LOCK_DISCONNECTED', `BLE link to ${this.endpoint} is down`, {
          details: { endpoint: this.endpoint },
        });
      }
      await this.#rx.writeAsync(Buffer.from(bytes.subarray(off, off + size)), true);
    }
  }

  /** When the link dropped or was closed (the clock's monotonic ms); undefined while it is up. */
  get endedAt(): number | undefined {
    return this.#endedAt;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#endedAt ??= this.#clock.monotonic();
    this.#tx.off('data', this.#onData);
    this.#peripheral.off('disconnect', this.#onDisconnect);
    this.#queue.fail(canceled(this.endpoint), true);
    if (this.#peripheral.state === 'connected' || this.#peripheral.state === 'connecting') {
      await withTimeout(this.#clock, this.#peripheral.disconnectAsync(), 2000).catch(() => undefined);
    }
  }
}

function describe(err: unknown, ms: number): string {
  if (err instanceof ClockTimeout) return `no answer within ${ms} ms`;
  return err instanceof Error ? err.message : String(err);
}
