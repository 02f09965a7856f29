import type { Characteristic, ConnectOptions, Peripheral } from '@stoprocent/noble';
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

/**
 * The connection interval the gateway asks for (LE Create Connection, min = max). Every
 * request and its answer cost a link two connection events, and a lock's read is about seven
 * of them before and after its manifest: at 10 ms they take a third less time than at 15 ms,
 * and at 107 km/h the train-speed bench read 88.7 of 110 against 84.0 (docs/BLE-SIM.md, "The
 * connection interval"). noble would ask for 7.5–22.5 ms, and controllers take the longest.
 */
export const DEFAULT_CONNECTION_INTERVAL_MS = 10;

/** An interval in the 1.25 ms units of HCI, within the Core's 7.5 ms–4 s. */
export function connectionIntervalUnits(ms: number): number {
  const units = Math.round(ms / 1.25);
  if (!(units >= 6 && units <= 3200)) throw new TypeError('connectionIntervalMs must be in 7.5..4000');
  return units;
}

/**
 * Where a lock's announced handles put its pipe (PROTOCOL.md §13.5): RX's value at `rx`, TX's
 * value two handles on and TX's CCCD three.
 */
export function announcedLayout(rx: number): { rx: number; tx: number; txCccd: number } {
  return { rx, tx: rx + 2, txCccd: rx + 3 };
}

/** CCCD value 0x0001: notifications on (Vol 3 Part G §3.3.3.3), little-endian. */
const NOTIFY_ON = Buffer.from([0x01, 0x00]);

/**
 * The lock's pipe as this link reaches it: the characteristics found by discovery, or the
 * handles the lock announced (PROTOCOL.md §13.5), which save the discovery's round trips.
 */
interface GattPipe {
  readonly kind: 'discovered' | 'announced';
  write(chunk: Buffer): Promise<void>;
  /** Hands every notification of TX to `onData` until the returned function is called. */
  listen(onData: (data: Buffer) => void): () => void;
  subscribe(): Promise<void>;
}

function discoveredPipe(rx: Characteristic, tx: Characteristic): GattPipe {
  return {
    kind: 'discovered',
    write: (chunk) => rx.writeAsync(chunk, true),
    listen: (onData) => {
      tx.on('data', onData);
      return () => tx.off('data', onData);
    },
    subscribe: () => tx.subscribeAsync(),
  };
}

function announcedPipe(peripheral: Peripheral, rxHandle: number): GattPipe {
  const layout = announcedLayout(rxHandle);
  return {
    kind: 'announced',
    write: (chunk) => peripheral.writeHandleAsync(layout.rx, chunk, true),
    listen: (onData) => {
      const onNotify = (handle: number, data: Buffer) => {
        if (handle === layout.tx) onData(data);
      };
      peripheral.on('handleNotify', onNotify);
      return () => peripheral.off('handleNotify', onNotify);
    },
    subscribe: () => peripheral.writeHandleAsync(layout.txCccd, NOTIFY_ON, false),
  };
}

/** RX's UUID as its characteristic declaration carries it: 16 octets, least significant first. */
const RX_UUID_LE = Buffer.from(RX, 'hex').reverse();
/** Characteristic property Write Without Response (Vol 3 Part G §3.3.1.1). */
const PROP_WRITE_WITHOUT_RESPONSE = 0x04;

/**
 * Takes the pipe at the handles the lock announced, or says why not. The attribute before
 * RX's value must be RX's declaration naming it — one read proves the gateway's lines go to
 * RX and nowhere else — and the CCCD at RX + 3 must answer its Write Request. noble hands an
 * ATT error to a read by handle as empty data, and to a write by handle as silence: a wrong
 * declaration costs one round trip, an unanswered CCCD the GATT timeout.
 */
async function atAnnouncedHandles(
  peripheral: Peripheral,
  rxHandle: number,
  clock: Clock,
  gattMs: number,
): Promise<GattPipe | string> {
  const declaration = await withTimeout(clock, peripheral.readHandleAsync(rxHandle - 1), gattMs);
  const names =
    declaration.byteLength === 19 &&
    (declaration[0]! & PROP_WRITE_WITHOUT_RESPONSE) !== 0 &&
    declaration.readUInt16LE(1) === rxHandle &&
    declaration.subarray(3).equals(RX_UUID_LE);
  if (!names) {
    return `handle ${rxHandle - 1} is not the declaration of RX at ${rxHandle} (read ${declaration.toString('hex') || 'an error'})`;
  }
  const pipe = announcedPipe(peripheral, rxHandle);
  try {
    await withTimeout(clock, pipe.subscribe(), gattMs);
  } catch (err) {
    if (err instanceof ClockTimeout && peripheral.state === 'connected') {
      return `the write to TX's CCCD at ${rxHandle + 3} was not answered within ${gattMs} ms`;
    }
    throw err;
  }
  return pipe;
}

export interface BleLinkOptions {
  /** noble has no connect timeout of its own (docs/BLE-SIM.md). Default 10 s. */
  connectTimeoutMs?: number;
  /** Nor an ATT timeout: a device that never answers GATT would hang discovery. Default 5 s. */
  gattTimeoutMs?: number;
  /** The connection interval asked for (min = max), ms. Default DEFAULT_CONNECTION_INTERVAL_MS. */
  connectionIntervalMs?: number;
  /** The clock the timeouts run on (a simulated radio's, in tests). Default: the system clock. */
  clock?: Clock;
  log?: Logger;
  /**
   * The RX value handle the lock announced in its scan response (PROTOCOL.md §13.5): the link
   * uses the announced layout instead of discovering the service.
   */
  announcedRxHandle?: number;
  /**
   * With `announcedRxHandle`: discover anyway when the announced layout is not there (the
   * default), or fail the link (the conformance kit, judging the announcement).
   */
  announcedOnly?: boolean;
  /**
   * The announced handles did not work: the attribute before RX was not RX's declaration, the
   * CCCD write went unanswered, or the link was closed by us without a byte from the lock. The
   * caller discovers on its next links to this lock.
   */
  onAnnouncedHandlesFailed?: () => void;
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
  /** How this link found the lock's pipe: by discovery, or at the handles the lock announced. */
  readonly gatt: GattPipe['kind'];
  readonly #peripheral: Peripheral;
  readonly #pipe: GattPipe;
  readonly #unlisten: () => void;
  readonly #onAnnouncedFailed: (() => void) | undefined;
  /** Whether the lock has sent anything on this link. */
  #heard = false;
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

  private constructor(peripheral: Peripheral, pipe: GattPipe, clock: Clock, onAnnouncedFailed?: () => void) {
    this.#peripheral = peripheral;
    this.#clock = clock;
    this.endpoint = peripheral.address;
    this.#pipe = pipe;
    this.gatt = pipe.kind;
    this.#onAnnouncedFailed = pipe.kind === 'announced' ? onAnnouncedFailed : undefined;
    this.#onData = (data) => {
      this.#heard = true;
      this.#queue.push(data);
    };
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
    this.#unlisten = pipe.listen(this.#onData);
    peripheral.once('disconnect', this.#onDisconnect);
  }

  /** Payload bytes per write: the ATT MTU in force minus the 3-byte ATT header. */
  get chunkSize(): number {
    return (this.#peripheral.mtu ?? 23) - 3;
  }

  /**
   * Connects, finds the lock service — or takes the handles the lock announced (PROTOCOL.md
   * §13.5), falling back to discovery when they are not answered — and subscribes to TX, each
   * step bounded in time.
   * `attemptOver` runs once the connection attempt is over, with whether it connected,
   * before the GATT set-up: the radio may scan again.
   */
  static async open(
    peripheral: Peripheral,
    options: BleLinkOptions = {},
    attemptOver?: (connected: boolean) => void,
  ): Promise<BleLink> {
    const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const clock = options.clock ?? systemClock;
    const units = connectionIntervalUnits(options.connectionIntervalMs ?? DEFAULT_CONNECTION_INTERVAL_MS);
    try {
      // noble's Peripheral takes LE Create Connection's parameters (in HCI units), though its types do not say so.
      const connect = peripheral.connectAsync as (options: ConnectOptions) => Promise<void>;
      await withTimeout(
        clock,
        connect.call(peripheral, { minInterval: units, maxInterval: units }),
        connectMs,
        () => peripheral.cancelConnect(),
      );
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
    return BleLink.setUp(peripheral, options);
  }

  /**
   * The GATT set-up on a peripheral already connected (BleRadio.openFirst connects from the
   * controller's Filter Accept List): the lock's pipe, and TX subscribed. Disconnects on failure.
   */
  static async setUp(peripheral: Peripheral, options: BleLinkOptions = {}): Promise<BleLink> {
    const log = (options.log ?? silentLogger).child({ component: 'ble-link', address: peripheral.address });
    const gattMs = options.gattTimeoutMs ?? 5_000;
    const clock = options.clock ?? systemClock;
    try {
      let pipe: GattPipe | undefined;
      if (options.announcedRxHandle !== undefined) {
        const rxHandle = options.announcedRxHandle;
        const found = await atAnnouncedHandles(peripheral, rxHandle, clock, gattMs);
        if (typeof found === 'string') {
          options.onAnnouncedHandlesFailed?.();
          if (options.announcedOnly) {
            throw new CtopError(
              'E_BLE_GATT',
              `the lock does not serve the GATT layout it announces: ${found}`,
              {
                details: { endpoint: peripheral.address, rxHandle },
              },
            );
          }
          log.warn(
            { rxHandle, reason: found },
            'the lock does not serve the GATT layout it announces (PROTOCOL.md §13.5); discovering its service',
          );
        } else {
          pipe = found;
        }
      }
      if (!pipe) {
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
        pipe = discoveredPipe(rx, tx);
      }
      const link = new BleLink(peripheral, pipe, clock, options.onAnnouncedHandlesFailed);
      if (pipe.kind === 'discovered') await withTimeout(clock, pipe.subscribe(), gattMs);
      log.debug({ mtu: peripheral.mtu, gatt: pipe.kind }, 'BLE link up');
      return link;
    } catch (err) {
      // noble rejects what was pending on a link that dropped with "Disconnected <reason>",
      // and the Peripheral's state need not say so by then (a dropped lock is relisted at
      // once). A drop is worth another try; a lock that does not serve GATT is not.
      const dropped =
        peripheral.state !== 'connected' || (err instanceof Error && /^Disconnected\b/.test(err.message));
      // A link that dropped is gone already: noble would wait for a disconnect event that
      // never comes, holding the read (and a train reader's slot) for the whole 2 s.
      if (!dropped) await withTimeout(clock, peripheral.disconnectAsync(), 2000).catch(() => undefined);
      if (err instanceof CtopError) throw err;
      if (dropped) {
        // The link broke during the GATT set-up (fading, the lock moving off): worth another try.
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
      await this.#pipe.write(Buffer.from(bytes.subarray(off, off + size)));
    }
  }

  /** When the link dropped or was closed (the clock's monotonic ms); undefined while it is up. */
  get endedAt(): number | undefined {
    return this.#endedAt;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closed by us, the lock still linked and silent: its announced handles led nowhere (a
    // HELLO unanswered). A link that dropped says nothing about them.
    if (this.#endedAt === undefined && !this.#heard) this.#onAnnouncedFailed?.();
    this.#endedAt ??= this.#clock.monotonic();
    this.#unlisten();
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
