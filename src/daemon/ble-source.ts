import { EventEmitter } from 'node:events';
import type { HciBindingsOptions } from '@stoprocent/noble';
import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/index.js';
import type { LockReadResult } from '../lock/reader.js';
import { BleRadio, type LockSighting } from '../lock/transport/ble-radio.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { LockProgress, TrainState, TrainSummary } from '../train/train-board.js';
import { TrainReader } from '../train/train-reader.js';
import type { ReadOutcome } from './read-pipeline.js';

export interface BleSourceOptions {
  ble: AgentConfig['ble'];
  /** Session tuning shared with the serial ports. */
  session: { window: number; chunk: number; maxManifestBytes: number; readDeadlineMs: number };
  gatewayId: string;
  store: Store;
  ingest: (result: LockReadResult) => ReadOutcome;
  log: Logger;
  clock: Clock;
}

export interface BleSourceEvents {
  lock: [LockProgress];
  'train-start': [{ trainId: string; startedAt: number }];
  'train-end': [TrainSummary];
}

/** noble's bindings for the configured adapter: the kernel's HCI socket, or HCI over a serial line. */
export function bindingsOf(ble: AgentConfig['ble']): HciBindingsOptions {
  return ble.uart
    ? { hciDriver: 'uart', bindParams: { uart: { port: ble.uart.port, baudRate: ble.uart.baudRate } } }
    : { deviceId: ble.hciDevice };
}

/**
 * Trains passing the checkpoint, read over Bluetooth LE (src/train): the radio scans for
 * lock advertisements, the train reader reads up to ble.maxConcurrent locks at once and
 * hands every result to the daemon's pipeline. A lock whose advertisement matches what the
 * store last read from it (manifest hash, event count, seal state) is skipped; a partial
 * read stored earlier is continued.
 */
export class BleSource extends EventEmitter<BleSourceEvents> {
  readonly #o: BleSourceOptions;
  readonly #log: Logger;
  #radio: BleRadio | undefined;
  #reader: TrainReader | undefined;

  constructor(options: BleSourceOptions) {
    super();
    this.#o = options;
    this.#log = options.log.child({ component: 'ble' });
  }

  /** The current train and the last few, for status and the console. */
  get trains(): { current: TrainState | undefined; last: readonly TrainState[] } {
    const board = this.#reader?.board;
    return { current: board?.current, last: board?.last ?? [] };
  }

  async start(): Promise<void> {
    const { ble, session } = this.#o;
    this.#radio = await BleRadio.open({
      bindings: bindingsOf(ble),
      connectTimeoutMs: ble.connectTimeoutMs,
      gattTimeoutMs: ble.gattTimeoutMs,
      log: this.#o.log,
      clock: this.#o.clock,
    });
    const reader = new TrainReader({
      radio: this.#radio,
      gatewayId: this.#o.gatewayId,
      maxConcurrent: ble.maxConcurrent,
      window: session.window,
      chunk: session.chunk,
      maxManifestBytes: session.maxManifestBytes,
      readDeadlineMs: session.readDeadlineMs,
      ingest: (result) => {
        const outcome = this.#o.ingest(result);
        return { verified: outcome.recorded?.manifest?.verification === 'valid' };
      },
      isUnchanged: (s) => this.#unchanged(s),
      checkpointFor: (lockId) => this.#o.store.loadReadCheckpoint(lockId),
      pinnedKeyFor: (lockId) => this.#o.store.locks.get(lockId)?.identityKey,
      log: this.#o.log,
      clock: this.#o.clock,
    });
    reader.on('lock', (p) => this.emit('lock', p));
    reader.on('train-start', (e) => this.emit('train-start', e));
    reader.on('train-end', (s) => this.emit('train-end', s));
    this.#reader = reader;
    await reader.start();
    this.#log.info(
      { adapter: ble.uart ? ble.uart.port : `hci${ble.hciDevice}`, maxConcurrent: ble.maxConcurrent },
      'listening for trains over Bluetooth LE',
    );
  }

  /**
   * Stops scanning; reads in flight are aborted and stored with their checkpoints. Bounded:
   * a controller that went away (a USB adapter pulled, the HCI line gone) answers no HCI
   * command, and noble waits for ever — the stop then gives up on the radio after
   * `timeoutMs` rather than keep the daemon from closing its database.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    const reader = this.#reader;
    const radio = this.#radio;
    this.#reader = undefined;
    this.#radio = undefined;
    const bounded = async (what: string, action: () => Promise<void> | undefined) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const outcome = await Promise.race([Promise.resolve(action()).then(() => 'done' as const), late]);
      clearTimeout(timer);
      if (outcome === 'late')
        this.#log.warn({ timeoutMs }, `${what} did not stop in time: the radio does not answer; going on`);
    };
    await bounded('the train reader', () => reader?.stop());
    await bounded('the radio', () => radio?.close());
  }

  /** The store's last trusted read of this lock says what the advertisement says now. */
  #unchanged(s: LockSighting): boolean {
    const known = this.#o.store.locks.get(s.advertisement.lockId);
    if (!known?.manifestId || known.eventCount === undefined || known.sealState === undefined) return false;
    return (
      known.manifestId.startsWith(s.advertisement.manifestHashPrefix.toString('hex')) &&
      known.eventCount % 65_536 === s.advertisement.eventCount &&
      known.sealState === s.advertisement.sealState
    );
  }
}
