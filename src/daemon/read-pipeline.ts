import { EventEmitter } from 'node:events';
import { type ErrorCode, toCtopError } from '../errors.js';
import { ingestRead } from '../ingest/ingest-read.js';
import type { TrustStore } from '../keys/index.js';
import type { LockReadResult } from '../lock/reader.js';
import type { Logger } from '../log.js';
import type { IngestResult, ReadTrust, Store, StoredVerification } from '../store/index.js';

/** What became of one lock read: the reader's outcome and what the store made of it. */
export interface ReadOutcome {
  transport: 'serial' | 'ble';
  endpoint: string;
  lockId?: string;
  outcome: 'complete' | 'failed';
  error?: { code: ErrorCode; message: string };
  /** Bytes received on the link. */
  bytesIn: number;
  manifestBytes: number;
  /** Offsets at which a new link continued the manifest (the link dropped mid-read). */
  resumedAt: number[];
  durationMs: number;
  /** The read is in the store (a failed read is stored too, as a record of the attempt). */
  stored: boolean;
  /** Why the store refused it (E_STORE_FULL): the lock must be read again later. */
  storeError?: { code: ErrorCode; message: string };
  trust?: ReadTrust;
  manifest?: { manifestId: string; new: boolean; verification: StoredVerification };
  alerts: { kind: string; new: boolean }[];
  /** Outbox rows queued for the exchange by this read. */
  queued: number;
  /** A partial manifest was kept to continue from. */
  checkpointed: boolean;
  /** What the reader returned and the store made of it (the console's verdict needs both). */
  result: LockReadResult;
  ingested?: IngestResult;
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
 * Where every lock read ends, whichever transport brought it: verified against the trust
 * store and stored in one transaction (src/ingest), counted, announced. Never throws: a
 * read the store refuses (disk full) is reported as not stored, so the source reads the
 * lock again later — the lock still holds everything.
 */
export class ReadPipeline extends EventEmitter<ReadPipelineEvents> {
  readonly #options: ReadPipelineOptions;
  readonly #log: Logger;

  constructor(options: ReadPipelineOptions) {
    super();
    this.#options = options;
    this.#log = options.log.child({ component: 'ingest' });
  }

  ingest(result: LockReadResult, transport: 'serial' | 'ble'): ReadOutcome {
    const { store, trust, gatewayId } = this.#options;
    const outcome: ReadOutcome = {
      transport,
      endpoint: result.endpoint,
      ...(result.info ? { lockId: result.info.id } : {}),
      outcome: result.outcome,
      ...(result.error ? { error: { code: result.error.code, message: result.error.message } } : {}),
      bytesIn: result.stats.bytesIn,
      manifestBytes: result.manifest?.byteLength ?? 0,
      resumedAt: [...result.stats.resumedFrom],
      durationMs: result.finishedAt - result.startedAt,
      stored: false,
      alerts: [],
      queued: 0,
      checkpointed: result.outcome === 'failed' && result.checkpoint !== undefined,
      result,
    };
    try {
      const ingested = ingestRead(result, { store, trust, gatewayId, log: this.#log });
      outcome.stored = true;
      outcome.ingested = ingested;
      outcome.trust = ingested.trust;
      if (ingested.manifest) outcome.manifest = ingested.manifest;
      outcome.alerts = ingested.alerts.map((a) => ({ kind: a.kind, new: a.new }));
      outcome.queued = ingested.outboxIds.length;
    } catch (err) {
      const e = toCtopError(err);
      outcome.storeError = { code: e.code, message: e.message };
      outcome.checkpointed = false;
      this.#log.error(
        { ...e.toLog(), lockId: outcome.lockId, endpoint: outcome.endpoint },
        `lock read not stored: ${e.message}`,
      );
    }
    this.#log.info(
      {
        lockId: outcome.lockId,
        transport,
        endpoint: outcome.endpoint,
        outcome: outcome.outcome,
        code: outcome.error?.code,
        manifestId: outcome.manifest?.manifestId,
        verification: outcome.manifest?.verification,
        trust: outcome.trust,
        alerts: outcome.alerts.filter((a) => a.new).map((a) => a.kind),
        queued: outcome.queued,
        ms: outcome.durationMs,
      },
      outcome.outcome === 'complete'
        ? `lock ${outcome.lockId} read: manifest ${outcome.manifest?.verification ?? 'none'}, ${outcome.queued} queued`
        : `lock ${outcome.lockId ?? outcome.endpoint} read failed: ${outcome.error?.code}${outcome.checkpointed ? ' (partial manifest kept)' : ''}`,
    );
    if (outcome.queued > 0) this.#options.onQueued?.();
    this.emit('read', outcome);
    return outcome;
  }
}
