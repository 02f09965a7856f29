import type { Clock } from '../../clock.js';
import type { LockReadResult } from '../../lock/reader.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import type { ReadOutcome } from '../read-pipeline.js';
import { findSerialDevices, namesDevice, type SerialDevice } from './port-glob.js';
import { PortReader, type PortState, type SerialProgress } from './port-reader.js';

export interface SerialSourceOptions {
  /** Device paths or globs (serial.ports). */
  patterns: readonly string[];
  scanIntervalMs: number;
  baudRate: number;
  probeIntervalMs: number;
  readAttempts: number;
  window: number;
  chunk: number;
  maxManifestBytes: number;
  /** No valid answer for this long ends a read (PROTOCOL.md §10). */
  readDeadlineMs: number;
  gatewayId: string;
  store: Store;
  ingest: (result: LockReadResult) => ReadOutcome;
  onProgress?: (progress: SerialProgress) => void;
  log: Logger;
  clock: Clock;
}

export interface SerialPortStatus {
  path: string;
  device: string;
  state: PortState;
  reads: number;
  lastLockId?: string;
}

/**
 * The serial ports of a checkpoint: the patterns are looked at every scanIntervalMs (udev
 * adds and removes /dev/serial/by-id links as adapters are plugged and pulled); a reader
 * starts for each device that appears and is stopped, its read checkpointed, when the
 * device disappears. Polling rather than inotify: /dev is a devtmpfs where a watch on a
 * by-id directory that does not exist yet sees nothing, and a scan of a few entries every
 * two seconds costs nothing.
 */
export class SerialSource {
  readonly #o: SerialSourceOptions;
  readonly #log: Logger;
  readonly #readers = new Map<string, PortReader>();
  /** Readers of devices that vanished, still storing what they had. */
  readonly #retiring = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(options: SerialSourceOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'serial' });
  }

  start(): void {
    this.#scan();
    this.#timer = setInterval(() => this.#scan(), this.#o.scanIntervalMs);
    this.#log.info({ patterns: this.#o.patterns }, 'watching serial ports');
  }

  status(): SerialPortStatus[] {
    return [...this.#readers.values()].map((r) => ({
      path: r.device.path,
      device: r.device.device,
      state: r.state,
      reads: r.reads,
      ...(r.lastLockId ? { lastLockId: r.lastLockId } : {}),
    }));
  }

  get counts(): { attached: number; reading: number } {
    let reading = 0;
    for (const r of this.#readers.values()) if (r.state === 'reading') reading++;
    return { attached: this.#readers.size, reading };
  }

  /** Stops watching and every reader (reads in progress get `graceMs`, then are checkpointed). */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#readers.values()].map((r) => r.stop(graceMs)));
    this.#readers.clear();
    await Promise.all([...this.#retiring]);
  }

  #scan(): void {
    if (this.#stopping) return;
    let present: SerialDevice[];
    try {
      present = findSerialDevices(this.#o.patterns);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'serial port scan failed');
      return;
    }
    const seen = new Set(present.map((d) => d.device));
    for (const [device, reader] of this.#readers) {
      // A reader opens its path, not the device: when the path is gone but the device is named
      // by another (a lock swapped within one scan, the kernel handing the next pty or ttyUSB
      // the freed number), the reader would probe a missing path while the new lock waits.
      if (!seen.has(device) || !namesDevice(reader.device)) {
        this.#readers.delete(device);
        const retiring = reader.vanished();
        this.#retiring.add(retiring);
        void retiring.finally(() => this.#retiring.delete(retiring));
      }
    }
    for (const device of present) {
      if (this.#readers.has(device.device)) continue;
      this.#log.info({ port: device.path, device: device.device }, 'serial device attached');
      const reader = new PortReader({
        device,
        baudRate: this.#o.baudRate,
        gatewayId: this.#o.gatewayId,
        probeIntervalMs: this.#o.probeIntervalMs,
        readAttempts: this.#o.readAttempts,
        session: {
          window: this.#o.window,
          chunk: this.#o.chunk,
          maxManifestBytes: this.#o.maxManifestBytes,
          readDeadlineMs: this.#o.readDeadlineMs,
        },
        store: this.#o.store,
        ingest: this.#o.ingest,
        ...(this.#o.onProgress ? { onProgress: this.#o.onProgress } : {}),
        log: this.#o.log,
        clock: this.#o.clock,
      });
      this.#readers.set(device.device, reader);
      reader.start();
    }
  }
}
