import { type LiveTrains, type LockView, lockVerdict, type TrainView } from '../console/index.js';
import type { LockProgress, TrainSummary } from '../train/train-board.js';
import type { ReadOutcome } from './read-pipeline.js';

/**
 * The officers' console's live strip, fed from the BLE train reader: each lock's progress
 * becomes its view (heard → seen, connecting/reading → reading, finished → the console's
 * own verdict from what the reader got and what the store made of it), published into the
 * console's LiveTrains after every change.
 */
export class ConsoleTrainFeed {
  readonly #sink: LiveTrains;
  readonly #trains = new Map<string, TrainView>();
  /** The pipeline's outcome of the last read of each lock, for the verdict. */
  readonly #outcomes = new Map<string, ReadOutcome>();

  constructor(sink: LiveTrains) {
    this.#sink = sink;
  }

  /** Every finished read (BLE and serial): remembered for the verdict of its lock. */
  read(outcome: ReadOutcome): void {
    const lockId = outcome.result.info?.id;
    if (outcome.transport !== 'ble' || !lockId) return;
    this.#outcomes.set(lockId, outcome);
    if (this.#outcomes.size > 10_000) this.#outcomes.delete(this.#outcomes.keys().next().value!);
  }

  start(trainId: string, startedAt: number): void {
    const view: TrainView = { trainId, startedAt, locks: [] };
    this.#trains.set(trainId, view);
    this.#sink.publish(view);
  }

  lock(p: LockProgress): void {
    let view = this.#trains.get(p.trainId);
    if (!view) {
      view = { trainId: p.trainId, startedAt: p.updatedAt, locks: [] };
      this.#trains.set(p.trainId, view);
    }
    let lock = view.locks.find((l) => l.lockId === p.lockId);
    if (!lock) {
      lock = { lockId: p.lockId, state: 'seen', bytes: 0, total: 0, retries: 0 };
      view.locks.push(lock);
    }
    Object.assign(lock, this.#viewOf(p, lock));
    this.#sink.publish(view);
  }

  end(summary: TrainSummary): void {
    const view = this.#trains.get(summary.trainId);
    if (!view) return;
    view.finishedAt = summary.finishedAt;
    if (summary.expected !== undefined) view.expected = summary.expected;
    this.#sink.publish(view);
    this.#trains.delete(summary.trainId);
  }

  #viewOf(p: LockProgress, lock: LockView): Partial<LockView> {
    const retries = Math.max(0, p.passes - 1);
    const progress = { bytes: p.bytes, total: p.total, retries };
    switch (p.state) {
      case 'queued':
      case 'retrying':
        return {
          ...progress,
          state: 'seen',
          ...(p.error ? { error: `${p.error.code}: ${p.error.message}` } : {}),
        };
      case 'connecting':
      case 'reading':
        return { ...progress, state: 'reading' };
      case 'skipped':
        return { ...progress, state: 'read', error: 'unchanged since its last read: not read again' };
      default: {
        const outcome = this.#outcomes.get(p.lockId);
        const result = p.result ?? outcome?.result;
        if (!result)
          return {
            ...progress,
            state: 'failed',
            error: p.error ? `${p.error.code}: ${p.error.message}` : 'no result',
          };
        const verdict = lockVerdict(result, outcome?.recorded);
        const manifestId = outcome?.recorded?.manifest?.manifestId ?? lock.manifestId;
        return {
          ...progress,
          state: verdict.state,
          ...(verdict.error ? { error: verdict.error } : {}),
          ...(manifestId ? { manifestId } : {}),
        };
      }
    }
  }
}
