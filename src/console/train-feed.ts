import { EventEmitter } from 'node:events';

/**
 * Where one lock of a train stands, as the officer sees it in the wagon-by-wagon strip:
 * - seen: heard (advertising, or on the consist list and plugged in), not read yet;
 * - reading: a read is under way (`bytes` of `total` manifest bytes so far);
 * - read: read and stored, but not verified — an unknown signer, an expired or revoked
 *   key, a lock whose key is not pinned: kept as evidence, not trusted data;
 * - verified: a genuine lock (pinned key, AUTH passed, event log intact) with a manifest
 *   that verifies against the trust store;
 * - tamper: a cloned lock, a broken event log or a manifest with a bad signature;
 * - failed: the read ended with an error (`error` says which) and was not completed;
 * - missing: on the consist list but never heard before the train had passed.
 */
export type LockState = 'seen' | 'reading' | 'read' | 'verified' | 'tamper' | 'failed' | 'missing';

export const LOCK_STATES: readonly LockState[] = [
  'seen',
  'reading',
  'read',
  'verified',
  'tamper',
  'failed',
  'missing',
];

export interface LockView {
  lockId: string;
  /** Wagon number (from the consist list or the manifest's routing). */
  wagon?: string;
  /** ISO 6346 container number. */
  container?: string;
  state: LockState;
  /** Manifest bytes read so far. */
  bytes: number;
  /** Manifest size; 0 until the lock said. */
  total: number;
  /** Reads or links started again after a failure. */
  retries: number;
  /** An error code and message for failed and tamper; never a manifest body. */
  error?: string;
  /** The stored manifest, once read: the strip links to its page. */
  manifestId?: string;
}

export interface TrainView {
  trainId: string;
  startedAt: number;
  /** Absent while the train is passing. */
  finishedAt?: number;
  /** Locks on the consist list, when one was given. */
  expected?: number;
  /** In the order of the train (the consist list's, or the order first heard). */
  locks: LockView[];
}

/**
 * The live train state the console consumes. Whatever reads trains (the BLE train
 * reader, the serial port watcher at the inspection bay) publishes into an implementation
 * of it; the console only reads.
 *
 * Rules for implementations:
 * - `snapshot()` returns the current train (if any) and the last few, newest first; cheap
 *   (called once per page view and per live connection);
 * - `update` fires with the whole train after every change of it (a new lock, a state,
 *   progress bytes); the console coalesces bursts, so emitting per chunk is fine;
 * - views handed out are not mutated afterwards (publish copies);
 * - `off` removes a listener added with `on` (the console does so when a page closes).
 */
export interface TrainFeed {
  snapshot(): TrainView[];
  on(event: 'update', listener: (train: TrainView) => void): unknown;
  off(event: 'update', listener: (train: TrainView) => void): unknown;
}

/** Where producers put a train's view after each change (LiveTrains is one). */
export interface TrainSink {
  publish(train: TrainView): void;
}

export interface LiveTrainsOptions {
  /** Trains kept, the current one included. Default 5. */
  keep?: number;
}

/**
 * The plain in-memory TrainFeed: producers `publish()` a train's whole view after each
 * change; the console reads `snapshot()` and listens to `update`.
 */
export class LiveTrains extends EventEmitter<{ update: [TrainView] }> implements TrainFeed, TrainSink {
  readonly #keep: number;
  /** Newest first. */
  #trains: TrainView[] = [];

  constructor(options: LiveTrainsOptions = {}) {
    super();
    this.#keep = Math.max(1, options.keep ?? 5);
    // One listener per open console page; the default warning at 10 would fire on a busy checkpoint.
    this.setMaxListeners(0);
  }

  publish(train: TrainView): void {
    const copy = structuredClone(train);
    const at = this.#trains.findIndex((t) => t.trainId === train.trainId);
    if (at >= 0) this.#trains[at] = copy;
    else {
      this.#trains.unshift(copy);
      this.#trains.sort((a, b) => b.startedAt - a.startedAt);
      this.#trains.length = Math.min(this.#trains.length, this.#keep);
    }
    this.emit('update', copy);
  }

  snapshot(): TrainView[] {
    return [...this.#trains];
  }
}
