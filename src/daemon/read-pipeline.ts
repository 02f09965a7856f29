import { EventEmitter } from 'node:events';
import { type ErrorCode, toCtopError } from '../errors.js';
import { ingestRead } from '../ingest/ingest-read.js';
import type { TrustStore } from '../keys/index.js';
import type { LockReadResult } from '../lock/reader.js';
import type { Logger } from '../log.js';
import type { RecordedRead, Store } from '../store/index.js';

/** What became of one lock read: the reader's result and what the store recorded of it. */
export interface ReadOutcome {
  transport: 'serial' | 'ble';
  /** What the reader returned. */
  result: LockReadResult;
  /** The read as the store recorded it (a failed read is stored too, as a record of the attempt). */
  recorded?: RecordedRead;
  /** Why the store refused it (E_STORE_FULL): the lock must be read again later. */
  storeError?: { code: ErrorCode; message: string };
  /** A partial manifest was kept to continue from. */
  checkpointed: boolean;
}

export interface ReadPipelineEvents {
  read: [ReadOutcome];
}

export interface ReadPipelineOptions {
  store: Store;
  trust: TrustStore;
  gatewayId: string;
  log: Logger;
  /** Called after rows were queued: the sync looks at once instead of at its next poll. */
  onQueued?: () => void;
}

/**
 * Where every lock read ends, whichever transport brought it: ingested (src/ingest: its
 * verdict decided and stored in one transaction), logged, announced. Never throws: a read
 * the store refuses (disk full) is reported as not stored, so the source reads the lock
 * again later — the lock still holds everything.
 */
export class ReadPipeline extends EventEmitter<ReadPipelineEvents> {
  readonly #options: ReadPipelineOptions;
  readonly #log: Logger;

  constructor(options: ReadPipelineOptions) {
    super();
    this.#options = options;
    this.#log = options.log.child({ component: 'ingest' });
  }

  accept(result: LockReadResult, transport: 'serial' | 'ble'): ReadOutcome {
    const { store, trust, gatewayId } = this.#options;
    const outcome: ReadOutcome = {
      transport,
      result,
      checkpointed: result.outcome === 'failed' && result.checkpoint !== undefined,
    };
    const lockId = result.info?.id;
    try {
      outcome.recorded = ingestRead(result, { store, trust, gatewayId, log: this.#log });
    } catch (err) {
      const e = toCtopError(err);
      outcome.storeError = { code: e.code, message: e.message };
      outcome.checkpointed = false;
      this.#log.error(
        { ...e.toLog(), lockId, endpoint: result.endpoint },
        `lock read not stored: ${e.message}`,
      );
    }
    const recorded = outcome.recorded;
    const queued = recorded?.outboxIds.length ?? 0;
    this.#log.info(
      {
        lockId,
        transport,
        endpoint: result.endpoint,
        outcome: result.outcome,
        code: result.error?.code,
        manifestId: recorded?.manifest?.manifestId,
        verification: recorded?.manifest?.verification,
        trust: recorded?.trust,
        alerts: (recorded?.alerts ?? []).filter((a) => a.new).map((a) => a.kind),
        queued,
        ms: result.finishedAt - result.startedAt,
      },
      result.outcome === 'complete'
        ? `lock ${lockId} read: manifest ${recorded?.manifest?.verification ?? 'none'}, ${queued} queued`
        : `lock ${lockId ?? result.endpoint} read failed: ${result.error?.code}${outcome.checkpointed ? ' (partial manifest kept)' : ''}`,
    );
    if (queued > 0) this.#options.onQueued?.();
    this.emit('read', outcome);
    return outcome;
  }
}
