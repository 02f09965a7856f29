import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { CtopError } from '../errors.js';
import type { LockReadResult } from '../lock/reader.js';
import type { LockSighting } from '../lock/transport/ble-radio.js';

/** Where one lock of a passing train stands. */
export type LockReadState =
  /** Heard, waiting for a free connection. */
  | 'queued'
  /** Read before with the same manifest and event log. */
  | 'skipped'
  | 'connecting'
  | 'reading'
  /** A pass failed; another follows after a back-off while the lock is in range. */
  | 'retrying'
  | 'read'
  | 'failed';

export interface LockProgress {
  trainId: string;
  address: string;
  lockId: string;
  state: LockReadState;
  rssi: number;
  bytes: number;
  total: number;
  /** Passes started so far (1 = first try). */
  passes: number;
  /** The manifest verified against the trust store (when the reader stores reads). */
  verified?: boolean;
  error?: CtopError;
  result?: LockReadResult;
  updatedAt: number;
}

export interface TrainState {
  trainId: string;
  startedAt: number;
  finishedAt?: number;
  expected?: number;
  locks: Map<string, LockProgress>;
}

export interface TrainSummary {
  trainId: string;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  expected?: number;
  /** Distinct locks heard. */
  seen: number;
  read: number;
  verified: number;
  skipped: number;
  failed: { lockId: string; address: string; code: string; message: string }[];
  /** Expected locks never heard (0 when nothing was expected). */
  missing: number;
  manifestBytes: number;
}

const TERMINAL: ReadonlySet<LockReadState> = new Set(['read', 'skipped', 'failed']);
const KEEP_TRAINS = 10;

/**
 * The state of the current train and the last few: what the CLI's live table, the
 * officers' console and the metrics show. Emits `update` with the train on every change.
 */
export class TrainBoard extends EventEmitter<{ update: [TrainState] }> {
  current: TrainState | undefined;
  readonly last: TrainState[] = [];
  readonly #clock: Clock;
  readonly #expected: number | undefined;

  constructor(clock: Clock, expected?: number) {
    super();
    this.#clock = clock;
    this.#expected = expected;
  }

  startTrain(now: number): TrainState {
    this.current = {
      trainId: `T-${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')}`,
      startedAt: now,
      ...(this.#expected !== undefined ? { expected: this.#expected } : {}),
      locks: new Map(),
    };
    this.emit('update', this.current);
    return this.current;
  }

  lock(address: string): LockProgress | undefined {
    return this.current?.locks.get(address);
  }

  update(
    s: LockSighting,
    state: LockReadState,
    extra: Partial<LockProgress>,
    passes: number,
  ): LockProgress | undefined {
    const train = this.current;
    if (!train) return undefined;
    const previous = train.locks.get(s.address);
    const progress: LockProgress = {
      trainId: train.trainId,
      address: s.address,
      lockId: s.advertisement.lockId,
      rssi: s.rssi,
      bytes: previous?.bytes ?? 0,
      total: previous?.total ?? 0,
      ...extra,
      state,
      passes,
      updatedAt: this.#clock.now(),
    };
    if (state !== 'failed' && state !== 'retrying') delete progress.error;
    train.locks.set(s.address, progress);
    this.emit('update', train);
    return progress;
  }

  /** Every lock heard has reached read, skipped or failed. */
  settled(): boolean {
    const train = this.current;
    return train !== undefined && [...train.locks.values()].every((l) => TERMINAL.has(l.state));
  }

  endTrain(now: number): TrainSummary | undefined {
    const train = this.current;
    if (!train) return undefined;
    train.finishedAt = now;
    this.current = undefined;
    this.last.unshift(train);
    this.last.length = Math.min(this.last.length, KEEP_TRAINS);
    this.emit('update', train);
    return summarise(train);
  }
}

export function summarise(train: TrainState): TrainSummary {
  const locks = [...train.locks.values()];
  const finishedAt = train.finishedAt ?? Date.now();
  const read = locks.filter((l) => l.state === 'read');
  return {
    trainId: train.trainId,
    startedAt: train.startedAt,
    finishedAt,
    durationMs: finishedAt - train.startedAt,
    ...(train.expected !== undefined ? { expected: train.expected } : {}),
    seen: new Set(locks.map((l) => l.lockId)).size,
    read: read.length,
    verified: read.filter((l) => l.verified === true).length,
    skipped: locks.filter((l) => l.state === 'skipped').length,
    failed: locks
      .filter((l) => l.state !== 'read' && l.state !== 'skipped')
      .map((l) => ({
        lockId: l.lockId,
        address: l.address,
        code: l.error?.code ?? 'E_LOCK_TIMEOUT',
        message: l.error?.message ?? `ended in state ${l.state}`,
      })),
    missing: Math.max(0, (train.expected ?? 0) - new Set(locks.map((l) => l.lockId)).size),
    manifestBytes: read.reduce((n, l) => n + l.bytes, 0),
  };
}
