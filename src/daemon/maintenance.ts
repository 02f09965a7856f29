import type { Logger } from '../log.js';
import type { RetentionReport, Store, StoreAlarm } from '../store/index.js';

export interface MaintenanceOptions {
  store: Store;
  log: Logger;
  retention: {
    payloadDays: number;
    traceabilityDays: number;
    intervalHours: number;
    firstRunMinutes: number;
  };
  spaceCheckSeconds: number;
  onRetention?: (report: RetentionReport | undefined, error?: Error) => void;
  onSpace?: (alarm: StoreAlarm) => void;
}

/**
 * The store's housekeeping on timers: retention (acknowledged payloads purged after
 * payloadDays, everything after the traceability period; nothing unacknowledged ever)
 * a few minutes after start and then every intervalHours, and the disk-space check that
 * raises or clears the store-full alarm while no lock is being read. Timers are unref'd:
 * housekeeping never keeps a stopping process alive.
 */
export class Maintenance {
  readonly #o: MaintenanceOptions;
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Retention runs so far, and the last report. */
  runs = 0;
  lastReport: RetentionReport | undefined;
  lastRunAt: number | undefined;

  constructor(options: MaintenanceOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'maintenance' });
  }

  start(): void {
    const { retention, spaceCheckSeconds } = this.#o;
    const first = setTimeout(() => {
      this.runRetention();
      const every = setInterval(() => this.runRetention(), retention.intervalHours * 3_600_000);
      every.unref();
      this.#timers.push(every);
    }, retention.firstRunMinutes * 60_000);
    first.unref();
    const space = setInterval(() => this.checkSpace(), spaceCheckSeconds * 1000);
    space.unref();
    this.#timers.push(first, space);
    this.checkSpace();
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.length = 0;
  }

  runRetention(): RetentionReport | undefined {
    const { payloadDays, traceabilityDays } = this.#o.retention;
    try {
      const report = this.#o.store.retention({ payloadDays, traceabilityDays });
      this.runs++;
      this.lastReport = report;
      this.lastRunAt = Date.now();
      this.#o.onRetention?.(report);
      return report;
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, code: (err as { code?: string }).code },
        'retention run failed',
      );
      this.#o.onRetention?.(undefined, err as Error);
      return undefined;
    }
  }

  checkSpace(): StoreAlarm | undefined {
    try {
      const alarm = this.#o.store.checkSpace();
      this.#o.onSpace?.(alarm);
      return alarm;
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'disk space check failed');
      return undefined;
    }
  }
}
