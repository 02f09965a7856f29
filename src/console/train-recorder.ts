import { type Clock, systemClock } from '../clock.js';
import type { LockReadResult, ReadProgress } from '../lock/reader.js';
import type { ManifestRouting, RecordedRead } from '../store/index.js';
import { lockVerdict } from './lock-state.js';
import type { LockView, TrainSink, TrainView } from './train-feed.js';

/** A lock on the consist list: what the railway says the train carries. */
export interface ConsistLock {
  lockId: string;
  wagon?: string;
  container?: string;
}

export interface TrainRecorderOptions {
  trainId: string;
  /** The consist list, in train order; locks not on it are appended as they are heard. */
  consist?: readonly ConsistLock[];
  clock?: Clock;
}

/**
 * Builds one train's view from lock reads and publishes it after every change: a
 * producer for the serial inspection bay (and the model for any other). Call `heard` when
 * a lock shows up, pass `progress(lockId)` as readLock's `onProgress`, `finished` with the
 * read and what the store made of it, and `finish()` when the train has passed.
 */
export class TrainRecorder {
  readonly #feed: TrainSink;
  readonly #clock: Clock;
  readonly #train: TrainView;
  readonly #consist: Map<string, ConsistLock>;
  readonly #seenOnce = new Set<string>();

  constructor(feed: TrainSink, options: TrainRecorderOptions) {
    this.#feed = feed;
    this.#clock = options.clock ?? systemClock;
    this.#consist = new Map((options.consist ?? []).map((l) => [l.lockId, l]));
    this.#train = {
      trainId: options.trainId,
      startedAt: this.#clock.now(),
      ...(options.consist ? { expected: options.consist.length } : {}),
      locks: [],
    };
    this.#publish();
  }

  get view(): TrainView {
    return structuredClone(this.#train);
  }

  /** A lock came into range (or was plugged in at the bay). */
  heard(lockId: string, where: { wagon?: string; container?: string } = {}): void {
    this.#lock(lockId, where);
    this.#publish();
  }

  /** An `onProgress` for readLock that moves the lock through reading. */
  progress(lockId: string): (p: ReadProgress) => void {
    let lastAttempt = 1;
    return (p) => {
      const lock = this.#lock(lockId);
      if (p.phase === 'done' || p.phase === 'failed') return; // `finished` gives the verdict
      lock.state = 'reading';
      lock.bytes = p.bytes;
      lock.total = p.total;
      if (p.attempt > lastAttempt) {
        lock.retries += p.attempt - lastAttempt;
        lastAttempt = p.attempt;
      }
      if (p.phase === 'retrying' && p.error) lock.error = `${p.error.code}: ${p.error.message}`;
      this.#publish();
    };
  }

  /** The read is over and stored (or not): the lock gets its verdict. */
  finished(
    lockId: string,
    result: LockReadResult,
    ingest: RecordedRead | undefined,
    routing?: Partial<ManifestRouting>,
  ): LockView {
    const lock = this.#lock(lockId, {
      ...(routing?.wagon ? { wagon: routing.wagon } : {}),
      ...(routing?.container ? { container: routing.container } : {}),
    });
    const verdict = lockVerdict(result, ingest);
    lock.state = verdict.state;
    if (verdict.error === undefined) delete lock.error;
    else lock.error = verdict.error.slice(0, 300);
    if (result.manifest) {
      lock.bytes = result.manifest.byteLength;
      lock.total = result.manifest.byteLength;
    }
    lock.retries = Math.max(lock.retries, result.stats.links - 1);
    if (ingest?.manifest) lock.manifestId = ingest.manifest.manifestId;
    this.#publish();
    return structuredClone(lock);
  }

  /**
   * The train has passed: consist locks never heard become missing, and locks heard but
   * never read to the end failed.
   */
  finish(): TrainView {
    for (const planned of this.#consist.values()) {
      if (!this.#seenOnce.has(planned.lockId)) this.#lock(planned.lockId).state = 'missing';
    }
    for (const lock of this.#train.locks) {
      if (lock.state === 'seen' || lock.state === 'reading') {
        lock.state = 'failed';
        lock.error ??= 'not read before the train had passed';
      }
    }
    this.#train.finishedAt = this.#clock.now();
    this.#publish();
    return this.view;
  }

  #lock(lockId: string, where: { wagon?: string; container?: string } = {}): LockView {
    this.#seenOnce.add(lockId);
    let lock = this.#train.locks.find((l) => l.lockId === lockId);
    if (!lock) {
      const planned = this.#consist.get(lockId);
      lock = {
        lockId,
        ...(planned?.wagon ? { wagon: planned.wagon } : {}),
        ...(planned?.container ? { container: planned.container } : {}),
        state: 'seen',
        bytes: 0,
        total: 0,
        retries: 0,
      };
      this.#insertInOrder(lock);
    }
    if (where.wagon && !lock.wagon) lock.wagon = where.wagon;
    if (where.container && !lock.container) lock.container = where.container;
    return lock;
  }

  /** Consist locks keep the consist's order; others go after them in the order heard. */
  #insertInOrder(lock: LockView): void {
    const order = [...this.#consist.keys()];
    const rank = (id: string) => {
      const i = order.indexOf(id);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    const mine = rank(lock.lockId);
    const at = this.#train.locks.findIndex((l) => rank(l.lockId) > mine);
    if (at < 0) this.#train.locks.push(lock);
    else this.#train.locks.splice(at, 0, lock);
  }

  #publish(): void {
    this.#feed.publish(this.#train);
  }
}
