import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../clock.js';
import { ERRORS, toCtopError } from '../../errors.js';
import type { LockInfo } from '../../lock/codec/messages.js';
import { type LockReadResult, type ReadLockOptions, type ReadPhase, readLock } from '../../lock/reader.js';
import { LockSession } from '../../lock/session.js';
import { SerialLink } from '../../lock/transport/serial-link.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import type { ReadOutcome } from '../read-pipeline.js';
import type { SerialDevice } from './port-glob.js';

/** How a serial read advances, for live views. */
export interface SerialProgress {
  port: string;
  lockId?: string;
  phase: ReadPhase;
  bytes: number;
  total: number;
  error?: string;
}

export interface PortReaderOptions {
  device: SerialDevice;
  baudRate: number;
  gatewayId: string;
  /** How often an attached port is asked HELLO, to notice a new or changed lock. */
  probeIntervalMs: number;
  readAttempts: number;
  session: Pick<ReadLockOptions, 'window' | 'chunk' | 'maxManifestBytes' | 'readDeadlineMs'>;
  store: Store;
  ingest: (result: LockReadResult) => ReadOutcome;
  onProgress?: (progress: SerialProgress) => void;
  log: Logger;
  clock: Clock;
}

/** What a port is doing, for status and metrics. */
export type PortState = 'probing' | 'no-lock' | 'reading' | 'idle' | 'stopped';

/** Longest pause between tries at a port whose lock keeps failing or is not stored. */
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * One serial port at the inspection bay: while the device exists, ask HELLO every
 * probeIntervalMs; when a lock answers that was not read in this state (other lock, new
 * manifest, new events, new seal state), read it completely, continuing from a stored
 * partial read, and hand the result to the pipeline. A transport failure is tried again
 * with growing pauses; a lock that fails for its own reasons (clone, bad hash, protocol)
 * is not read again until its state changes.
 *
 * stop() lets a read in progress finish within the grace time, then aborts it: the reader
 * returns what it verified, the pipeline stores it as a checkpoint, and the next read —
 * after a restart, or when the device comes back — continues from there.
 */
export class PortReader {
  readonly device: SerialDevice;
  readonly #o: PortReaderOptions;
  readonly #log: Logger;
  /** Ends the waits between probes. */
  readonly #stop = new AbortController();
  /** Ends the read in progress (stop after the grace time, or the device vanished). */
  #readAbort: AbortController | undefined;
  #readDone: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #state: PortState = 'probing';
  /** The lock state last read completely (or failed for the lock's own reasons). */
  #done: string | undefined;
  #failures = 0;
  /** Reads finished on this port, for status. */
  reads = 0;
  lastLockId: string | undefined;

  constructor(options: PortReaderOptions) {
    this.device = options.device;
    this.#o = options;
    this.#log = options.log.child({ component: 'serial', port: options.device.path });
  }

  get state(): PortState {
    return this.#state;
  }

  start(): void {
    this.#loop ??= this.#run().catch((err) => {
      // A bug, not a lock fault: the port is left alone and the daemon lives on.
      this.#log.error(
        { err: (err as Error).message, stack: (err as Error).stack },
        'serial port loop failed',
      );
      this.#state = 'stopped';
    });
  }

  /** Stops probing; a read in progress gets `graceMs` to finish, then is aborted. */
  async stop(graceMs: number): Promise<void> {
    this.#stop.abort();
    if (this.#readDone && graceMs > 0) {
      const grace = sleep(graceMs, undefined, { ref: false }).then(() => 'timeout' as const);
      const outcome = await Promise.race([this.#readDone.then(() => 'done' as const), grace]);
      if (outcome === 'timeout')
        this.#log.info({ graceMs }, 'read still running after the grace time: checkpointing it');
    }
    this.#readAbort?.abort();
    await this.#loop;
    this.#state = 'stopped';
  }

  /** The device is gone: abort at once (the read keeps what it verified). */
  async vanished(): Promise<void> {
    this.#log.info('serial device gone');
    await this.stop(0);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      this.#state = 'probing';
      const info = await this.#probe();
      if (signal.aborted) break;
      let pause = this.#o.probeIntervalMs;
      if (!info) {
        this.#state = 'no-lock';
      } else if (signatureOf(info) !== this.#done) {
        pause = await this.#read(info);
      } else {
        this.#state = 'idle';
      }
      await sleep(pause, undefined, { signal }).catch(() => undefined);
    }
    this.#state = 'stopped';
  }

  /** HELLO and BYE on a fresh link: who is there, and in which state. Undefined: nobody answers. */
  async #probe(): Promise<LockInfo | undefined> {
    let link: SerialLink | undefined;
    try {
      link = await SerialLink.open({ path: this.device.path, baudRate: this.#o.baudRate });
      const session = new LockSession(link, {
        gatewayId: this.#o.gatewayId,
        log: this.#log,
        clock: this.#o.clock,
        retries: 1,
      });
      const abort = () => void session.close();
      this.#stop.signal.addEventListener('abort', abort, { once: true });
      try {
        const info = await session.hello();
        await session.bye();
        return info;
      } finally {
        this.#stop.signal.removeEventListener('abort', abort);
      }
    } catch (err) {
      const e = toCtopError(err);
      this.#log.debug({ code: e.code }, `no lock answers: ${e.message}`);
      return undefined;
    } finally {
      await link?.close();
    }
  }

  /** Reads the lock completely; returns the pause before the next probe. */
  async #read(info: LockInfo): Promise<number> {
    this.#state = 'reading';
    const abort = new AbortController();
    this.#readAbort = abort;
    let release!: () => void;
    this.#readDone = new Promise((resolve) => (release = resolve));
    try {
      const checkpoint = this.#o.store.loadReadCheckpoint(info.id);
      this.#log.info(
        {
          lockId: info.id,
          manifestBytes: info.msize,
          events: info.ecount,
          resumeAt: checkpoint?.prefix.byteLength ?? 0,
        },
        checkpoint
          ? `reading lock ${info.id}, continuing at byte ${checkpoint.prefix.byteLength}`
          : `reading lock ${info.id}`,
      );
      const result = await readLock({
        open: () => SerialLink.open({ path: this.device.path, baudRate: this.#o.baudRate }),
        gatewayId: this.#o.gatewayId,
        attempts: this.#o.readAttempts,
        log: this.#log,
        clock: this.#o.clock,
        signal: abort.signal,
        ...this.#o.session,
        ...(this.#o.onProgress
          ? {
              onProgress: (p) =>
                this.#o.onProgress?.({
                  port: this.device.path,
                  lockId: p.lockId ?? info.id,
                  phase: p.phase,
                  bytes: p.bytes,
                  total: p.total,
                  ...(p.error ? { error: p.error.code } : {}),
                }),
            }
          : {}),
        ...(checkpoint ? { checkpoint } : {}),
      });
      const outcome = this.#o.ingest(result);
      this.reads++;
      this.lastLockId = outcome.result.info?.id;
      const finalFailure =
        result.outcome === 'failed' &&
        !abort.signal.aborted &&
        result.error !== undefined &&
        ERRORS[result.error.code].category !== 'transport';
      if (outcome.recorded && (result.outcome === 'complete' || finalFailure)) {
        this.#done = signatureOf(result.info ?? info);
        this.#failures = 0;
        this.#state = 'idle';
        return this.#o.probeIntervalMs;
      }
      this.#failures++;
      return Math.min(MAX_BACKOFF_MS, this.#o.probeIntervalMs * 2 ** this.#failures);
    } finally {
      this.#readAbort = undefined;
      release();
      this.#readDone = undefined;
    }
  }
}

/** What makes a lock worth reading again: another lock, manifest, seal state or event count. */
export function signatureOf(info: LockInfo): string {
  return [
    info.id,
    Buffer.from(info.key).toString('hex'),
    Buffer.from(info.mhash).toString('hex'),
    info.msize,
    info.seal,
    info.ecount,
    Buffer.from(info.ehead).toString('hex'),
  ].join('|');
}
