import type { Daemon } from '../daemon/daemon.js';
import type { ReadOutcome } from '../daemon/read-pipeline.js';
import type { SerialProgress } from '../daemon/serial/port-reader.js';
import type { LockProgress, TrainSummary } from '../train/train-board.js';
import {
  type DemoSerialStatus,
  type DemoStatus,
  DemoView,
  formatDuration,
  kib,
  type WagonLockState,
} from './demo-view.js';
import type { LinkCutter } from './link-cutter.js';

/** What a demo run did (`npm start`'s summary; the demo test reads it). */
export interface DemoResult {
  summary?: TrainSummary;
  stored: number;
  delivered: number;
  outageMs: number;
  serial: { lockId: string; outcome: string; verification?: string }[];
}

/** A serial lock at the inspection bay: its link name and the lock it holds. */
export interface DemoBay {
  bay: string;
  link: string;
  lockId: string;
}

/**
 * What the demo's view shows, kept up to date from the daemon's events: the train's locks,
 * the serial bays, the exchange's receipts and the outage; and the figures of the result.
 */
export class DemoProgress {
  readonly view: DemoView;
  /** Manifests of train locks the store recorded. */
  readonly trainManifests = new Set<string>();
  /** The largest sync backlog seen. */
  peakBacklog = 0;
  readonly #daemon: Daemon;
  readonly #result: DemoResult;
  readonly #expected: number;
  readonly #lockIndex: Map<string, number>;
  readonly #trainLocks: WagonLockState[];
  readonly #bays: Map<string, DemoSerialStatus>;
  readonly #exchange: DemoStatus['exchange'] = { connected: false, backlog: 0, receipts: 0, rejected: 0 };
  #train: DemoStatus['train'];

  constructor(
    out: NodeJS.WriteStream,
    daemon: Daemon,
    trainLockIds: string[],
    bays: DemoBay[],
    result: DemoResult,
  ) {
    this.#daemon = daemon;
    this.#result = result;
    this.#expected = trainLockIds.length;
    this.#lockIndex = new Map(trainLockIds.map((id, i) => [id, i]));
    this.#trainLocks = trainLockIds.map(() => 'unseen');
    this.#bays = new Map(bays.map((b) => [b.link, { bay: b.bay, lockId: b.lockId, text: 'waiting' }]));
    this.view = new DemoView(out, () => this.#status());
    daemon.on('serial-progress', (p) => this.#onSerialProgress(p));
    daemon.on('read', (outcome) => this.#onRead(outcome));
    daemon.on('train-start', (e) => {
      this.#train = {
        trainId: e.trainId,
        expected: this.#expected,
        locks: this.#trainLocks,
        startedAt: e.startedAt,
      };
      this.view.note(`train ${e.trainId} arriving: ${this.#expected} locks expected`);
    });
    daemon.on('train-lock', (p) => this.#onTrainLock(p));
  }

  /** Train locks read so far, verified or not. */
  get trainLocksRead(): number {
    return this.#trainLocks.filter((s) => s === 'verified' || s === 'read').length;
  }

  /** Follows the sync once the daemon started it: outages, receipts, the backlog's peak. */
  watchSync(): void {
    const sync = this.#daemon.sync;
    if (!sync) return;
    const exchange = this.#exchange;
    sync.on('outage-start', (outage) => {
      exchange.outageSince = outage.startedAt;
      exchange.outageCause = outage.cause;
      this.view.note(`sync: outage recorded (${outage.cause}); reads go on, the backlog waits in the store`);
    });
    sync.on('outage-end', (outage) => {
      delete exchange.outageSince;
      this.#result.outageMs += (outage.endedAt ?? Date.now()) - outage.startedAt;
      this.view.note(
        `sync: outage over after ${formatDuration((outage.endedAt ?? Date.now()) - outage.startedAt)}; it will be reported to the exchange`,
      );
    });
    sync.on('receipt', (r) => {
      if (!r.changed) return;
      if (r.status === 'accepted') exchange.receipts++;
      else exchange.rejected++;
    });
    sync.on('sent', () => {
      this.peakBacklog = Math.max(this.peakBacklog, sync.status().backlog);
    });
  }

  /**
   * The outage: once about a third of the train is read, the agent's link goes dark for
   * `seconds`; resolves when it is back (at once when there is no outage to make).
   */
  scheduleOutage(cutter: LinkCutter, seconds: number, pause: (ms: number) => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      if (seconds <= 0 || this.#expected === 0) {
        resolve();
        return;
      }
      let started = false;
      this.#daemon.on('train-lock', () => {
        if (started || this.trainLocksRead < this.#expected / 3) return;
        started = true;
        cutter.cut();
        this.view.note(
          `network outage: the agent's link to the broker is cut for ${seconds} s (the train keeps being read)`,
        );
        void pause(seconds * 1000).then(() => {
          cutter.restore();
          this.view.note(
            `link restored after ${formatDuration(cutter.cutMs)}: ${this.#daemon.sync?.status().backlog ?? 0} messages queued, draining`,
          );
          resolve();
        });
      });
    });
  }

  #status(): DemoStatus {
    const sync = this.#daemon.sync?.status();
    if (sync) {
      this.#exchange.connected = sync.connected;
      this.#exchange.backlog = sync.backlog;
    }
    return {
      ...(this.#train ? { train: this.#train } : {}),
      serial: [...this.#bays.values()],
      exchange: this.#exchange,
      now: Date.now(),
    };
  }

  #onSerialProgress(p: SerialProgress): void {
    const bay = this.#bays.get(p.port);
    if (!bay) return;
    bay.lockId = p.lockId;
    const note = p.phase === 'retrying' ? ` — link lost (${p.error}), resuming` : '';
    bay.text = `${p.lockId} ${p.phase === 'manifest' || p.phase === 'retrying' ? `reading ${kib(p.bytes)} of ${kib(p.total)}` : p.phase}${note}`;
  }

  #onRead({ transport, result: read, recorded }: ReadOutcome): void {
    if (recorded) this.#result.stored++;
    const lockId = read.info?.id;
    const manifest = recorded?.manifest;
    if (transport !== 'serial') {
      if (manifest && lockId && this.#lockIndex.has(lockId)) this.trainManifests.add(manifest.manifestId);
      return;
    }
    const bay = [...this.#bays.values()].find((b) => b.lockId === lockId);
    if (bay) {
      const resumedAt = read.stats.resumedFrom;
      const resumed = resumedAt.length > 0 ? ` (link lost, resumed at ${resumedAt.map(kib).join(', ')})` : '';
      const seconds = (read.finishedAt - read.startedAt) / 1000;
      bay.text =
        read.outcome === 'complete'
          ? `${lockId} read ${kib(read.manifest?.byteLength ?? 0)} in ${seconds.toFixed(1)} s${resumed}, manifest ${manifest?.verification}`
          : `${lockId} read failed: ${read.error?.code}`;
    }
    if (read.outcome === 'complete') {
      this.#result.serial.push({
        lockId: lockId ?? '?',
        outcome: read.outcome,
        ...(manifest ? { verification: manifest.verification } : {}),
      });
      this.view.note(`serial ${bay?.bay ?? read.endpoint}: ${bay?.text ?? lockId}`);
    }
  }

  #onTrainLock(p: LockProgress): void {
    const i = this.#lockIndex.get(p.lockId);
    if (i === undefined) return;
    this.#trainLocks[i] =
      p.state === 'read'
        ? p.verified === false
          ? 'read'
          : 'verified'
        : p.state === 'connecting' || p.state === 'reading'
          ? 'reading'
          : p.state === 'retrying'
            ? 'queued'
            : p.state;
  }
}
