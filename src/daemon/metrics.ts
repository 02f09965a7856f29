import { statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Store } from '../store/index.js';
import type { SyncEngine } from '../sync/index.js';
import type { TrainSummary } from '../train/train-board.js';
import type { ReadOutcome } from './read-pipeline.js';

/** What the gauges read at scrape time; each may be absent while starting or stopping. */
export interface MetricSources {
  store(): Store | undefined;
  sync(): SyncEngine | undefined;
  /** The database file, for its size and the free space of its filesystem. */
  storePath: string;
  ready(): boolean;
  serialPorts(): { attached: number; reading: number };
  clock: Clock;
}

/**
 * The daemon's Prometheus metrics (docs/OPERATIONS.md lists them): counters fed by lock
 * reads and sync events as they happen, gauges read from the store and the sync at scrape
 * time. Its own registry, so two daemons in one test process never share counters.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #reads: Counter<'transport' | 'outcome'>;
  readonly #failures: Counter<'transport' | 'code'>;
  readonly #bytes: Counter<'transport'>;
  readonly #manifests: Counter<'verification'>;
  readonly #alerts: Counter<'kind'>;
  readonly #notStored: Counter<'code'>;
  readonly #sent: Counter<'kind' | 'resend'>;
  readonly #receipts: Counter<'kind' | 'status'>;
  readonly #rejections: Counter<'kind' | 'reason'>;
  readonly #ignored: Counter<'code'>;
  readonly #outageSeconds: Counter;
  readonly #outages: Counter<'cause'>;
  readonly #retention: Counter<'result'>;
  readonly #trains: Counter;
  readonly #trainLocks: Counter<'result'>;

  constructor(sources: MetricSources, labels: { role: string; gatewayId: string; version: string }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'ctop_agent_info',
      help: 'Constant 1, labelled with the role, gateway id and version of this agent',
      labelNames: ['role', 'gateway', 'version'],
      registers,
    }).set({ role: labels.role, gateway: labels.gatewayId, version: labels.version }, 1);
    new Gauge({
      name: 'ctop_agent_ready',
      help: '1 while the daemon takes lock reads (as /readyz), else 0',
      registers,
      collect() {
        this.set(sources.ready() ? 1 : 0);
      },
    });

    this.#reads = new Counter({
      name: 'ctop_lock_reads_total',
      help: 'Lock reads finished, by transport and outcome (complete or failed)',
      labelNames: ['transport', 'outcome'],
      registers,
    });
    this.#failures = new Counter({
      name: 'ctop_lock_read_failures_total',
      help: 'Failed lock reads by transport and error code (docs/ERRORS.md)',
      labelNames: ['transport', 'code'],
      registers,
    });
    this.#bytes = new Counter({
      name: 'ctop_lock_read_bytes_total',
      help: 'Bytes received from locks (noise and retransmissions included)',
      labelNames: ['transport'],
      registers,
    });
    this.#manifests = new Counter({
      name: 'ctop_manifests_stored_total',
      help: 'New manifests stored, by verification outcome (only valid is valid data)',
      labelNames: ['verification'],
      registers,
    });
    this.#alerts = new Counter({
      name: 'ctop_alerts_total',
      help: 'New alerts raised by lock reads (clone, tamper, bad_signature, …)',
      labelNames: ['kind'],
      registers,
    });
    this.#notStored = new Counter({
      name: 'ctop_lock_reads_not_stored_total',
      help: 'Lock reads the store refused (E_STORE_FULL: disk full), by error code',
      labelNames: ['code'],
      registers,
    });

    this.#sent = new Counter({
      name: 'ctop_sync_messages_sent_total',
      help: 'Messages published to the exchange, by kind and whether it was a resend',
      labelNames: ['kind', 'resend'],
      registers,
    });
    this.#receipts = new Counter({
      name: 'ctop_sync_receipts_total',
      help: 'Signed receipts that settled an outbox row, by kind and status (accepted, rejected)',
      labelNames: ['kind', 'status'],
      registers,
    });
    this.#rejections = new Counter({
      name: 'ctop_sync_rejections_total',
      help: 'Messages the exchange rejected (quarantined), by kind and reason',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.#ignored = new Counter({
      name: 'ctop_sync_receipts_ignored_total',
      help: 'Receipts not acted on (bad signature, unknown key, not ours), by error code',
      labelNames: ['code'],
      registers,
    });
    this.#outages = new Counter({
      name: 'ctop_sync_outages_total',
      help: 'Outages of the path to the exchange that ended, by cause',
      labelNames: ['cause'],
      registers,
    });
    this.#outageSeconds = new Counter({
      name: 'ctop_sync_outage_seconds_total',
      help: 'Seconds of outages that ended since the daemon started',
      registers,
    });
    new Gauge({
      name: 'ctop_sync_current_outage_seconds',
      help: 'How long the outage in progress has lasted; 0 when the exchange is reachable',
      registers,
      collect() {
        this.set((sources.sync()?.status().currentOutageMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'ctop_sync_connected',
      help: '1 while connected to a broker',
      registers,
      collect() {
        this.set(sources.sync()?.status().connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ctop_outbox_backlog',
      help: 'Outbox rows not yet acknowledged nor rejected (queued and in flight)',
      registers,
      collect() {
        const counts = sources.store()?.outbox.status(sources.clock.now()).counts;
        if (counts) this.set(counts.queued + counts.in_flight);
      },
    });
    new Gauge({
      name: 'ctop_outbox_rows',
      help: 'Outbox rows by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = sources.store()?.outbox.status(sources.clock.now()).counts;
        if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'ctop_outbox_oldest_unacknowledged_age_seconds',
      help: 'Age of the oldest row the exchange has not acknowledged; 0 when there is none',
      registers,
      collect() {
        const store = sources.store();
        if (!store) return;
        const age = store.outbox.status(sources.clock.now()).oldestUnacknowledgedAgeMs;
        this.set(age === undefined ? 0 : age / 1000);
      },
    });

    new Gauge({
      name: 'ctop_store_db_bytes',
      help: 'Size of the SQLite database with its WAL',
      registers,
      collect() {
        this.set(databaseBytes(sources.storePath));
      },
    });
    new Gauge({
      name: 'ctop_store_free_disk_bytes',
      help: 'Space available to the agent on the filesystem of the database',
      registers,
      collect() {
        try {
          const fs = statfsSync(path.dirname(sources.storePath));
          this.set(fs.bavail * fs.bsize);
        } catch {
          // The directory went away: no sample rather than a wrong one.
        }
      },
    });
    new Gauge({
      name: 'ctop_store_full',
      help: '1 while new lock reads are refused for lack of space (E_STORE_FULL)',
      registers,
      collect() {
        const store = sources.store();
        if (store) this.set(store.alarm.state === 'full' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ctop_serial_ports',
      help: 'Serial ports matched by serial.ports, by state (attached, reading)',
      labelNames: ['state'],
      registers,
      collect() {
        const ports = sources.serialPorts();
        this.set({ state: 'attached' }, ports.attached);
        this.set({ state: 'reading' }, ports.reading);
      },
    });
    this.#trains = new Counter({
      name: 'ctop_trains_total',
      help: 'Trains that passed the BLE radio',
      registers,
    });
    this.#trainLocks = new Counter({
      name: 'ctop_train_locks_total',
      help: 'Locks of passed trains by result (read, verified, failed, missing, skipped)',
      labelNames: ['result'],
      registers,
    });
    this.#retention = new Counter({
      name: 'ctop_retention_runs_total',
      help: 'Retention runs by result (ok, failed)',
      labelNames: ['result'],
      registers,
    });
  }

  lockRead(outcome: ReadOutcome): void {
    const transport = outcome.transport;
    const { result, recorded } = outcome;
    this.#reads.inc({ transport, outcome: result.outcome });
    if (result.outcome === 'failed') this.#failures.inc({ transport, code: result.error?.code ?? 'unknown' });
    if (result.stats.bytesIn > 0) this.#bytes.inc({ transport }, result.stats.bytesIn);
    if (outcome.storeError) this.#notStored.inc({ code: outcome.storeError.code });
    if (recorded?.manifest?.new) this.#manifests.inc({ verification: recorded.manifest.verification });
    for (const alert of recorded?.alerts ?? []) if (alert.new) this.#alerts.inc({ kind: alert.kind });
  }

  sent(kind: string, resend: boolean): void {
    this.#sent.inc({ kind, resend: String(resend) });
  }

  receipt(kind: string, status: string): void {
    this.#receipts.inc({ kind, status });
  }

  rejection(kind: string, reason: string): void {
    this.#rejections.inc({ kind, reason });
  }

  receiptIgnored(code: string): void {
    this.#ignored.inc({ code });
  }

  outageEnded(cause: string, seconds: number): void {
    this.#outages.inc({ cause });
    if (seconds > 0) this.#outageSeconds.inc(seconds);
  }

  trainEnded(summary: TrainSummary): void {
    this.#trains.inc();
    const results = {
      read: summary.read,
      verified: summary.verified,
      failed: summary.failed.length,
      missing: summary.missing,
      skipped: summary.skipped,
    };
    for (const [result, n] of Object.entries(results)) if (n > 0) this.#trainLocks.inc({ result }, n);
  }

  retentionRun(ok: boolean): void {
    this.#retention.inc({ result: ok ? 'ok' : 'failed' });
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The database file with its -wal and -shm: what the store really occupies. */
export function databaseBytes(file: string): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // -wal and -shm exist only while a connection is open.
    }
  }
  return total;
}
