import type { ErrorCode } from '../errors.js';
import type { OutageRecord, OutboxKind, OutboxStatus } from '../store/index.js';
import type { OutageCause } from './outage-cause.js';

/** What the sync engine reports as it works, for metrics and the daemon's logs. */
export interface SyncEventMap {
  connected: [{ broker: string; sessionPresent: boolean; protocolVersion: 4 | 5 }];
  /** An established connection was lost (failed attempts count towards outages, not here). */
  disconnected: [{ broker: string; cause: OutageCause; detail: string }];
  sent: [
    {
      outboxId: number;
      messageId: string;
      kind: OutboxKind;
      bytes: number;
      attempt: number;
      resend: boolean;
    },
  ];
  receipt: [
    {
      outboxId: number;
      messageId: string;
      kind: OutboxKind;
      status: 'accepted' | 'rejected';
      reason?: string;
      duplicate: boolean;
      latencyMs?: number;
      /** false: a repeated receipt for a row already settled. */
      changed: boolean;
    },
  ];
  /** The exchange refused a message: its row is quarantined. */
  rejection: [{ outboxId: number; messageId: string; kind: OutboxKind; reason: string; detail?: string }];
  /** No receipt in time: the row goes back to the queue, due again at `nextAttemptAt`. */
  retry: [{ outboxId: number; messageId: string; nextAttemptAt: number; reason: string }];
  /** A receipt that was not acted on: bad signature, unknown key, not ours, malformed. */
  'receipt-ignored': [{ code: ErrorCode; message: string; messageId?: string }];
  'outage-start': [OutageRecord];
  'outage-end': [OutageRecord];
}

/** A snapshot for health checks and `status` output. */
export interface SyncStatus {
  running: boolean;
  connected: boolean;
  broker?: string;
  sessionPresent?: boolean;
  protocolVersion: 4 | 5;
  /**
   * The envelope's version, and since start how many message bodies were signed when
   * sent (version 1.1: every copy; 1.2: rows without a usable seal) against sent with the
   * signature made when the row was.
   */
  envelopes: { version: '1.1' | '1.2'; signedWhenSent: number; signedWhenMade: number };
  connectedSince?: number;
  /** Messages published and waiting for their receipt. */
  inFlight: number;
  /** Outbox rows not yet acknowledged nor quarantined (queued + in flight). */
  backlog: number;
  outbox: OutboxStatus['counts'];
  oldestUnacknowledgedAgeMs?: number;
  /** The outage in progress, if the path has been broken longer than the grace time. */
  currentOutage?: OutageRecord;
  /** How long it has lasted, ms (monotonic: a stepped wall clock does not count). */
  currentOutageMs?: number;
  lastReceiptAt?: number;
}
