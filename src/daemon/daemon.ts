import { EventEmitter } from 'node:events';
import { type Clock, systemClock } from '../clock.js';
import {
  type AgentConfig,
  type ConfigReferences,
  type LoadedConfig,
  loadReferences,
  readProvisionedLocks,
} from '../config/index.js';
import { type ConsoleServer, loadOfficers } from '../console/index.js';
import { CtopError } from '../errors.js';
import { ED25519_VERIFIER, type TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import { openStore, type Store } from '../store/index.js';
import { SyncEngine } from '../sync/index.js';
import type { BleSource } from './ble-source.js';
import { createDaemonConsole, listenConsole } from './daemon-console.js';
import type { DaemonEvents, DaemonState, ReloadOutcome } from './daemon-events.js';
import { HealthServer, type Probe } from './health-server.js';
import { bleSourceOf, serialSourceOf } from './lock-sources.js';
import { Maintenance } from './maintenance.js';
import { DaemonMetrics } from './metrics.js';
import { ReadPipeline } from './read-pipeline.js';
import { changedRestartKeys, reloadTrust, rotateGatewayKey } from './reload.js';
import { applyRevocations } from './revocations.js';
import { SystemdNotifier } from './sd-notify.js';
import type { SerialSource } from './serial/serial-source.js';
import { syncConfigOf } from './sync-config.js';

export type { DaemonEvents, DaemonState, ReloadOutcome } from './daemon-events.js';

export interface DaemonOptions {
  loaded: LoadedConfig;
  /** The root logger: SIGHUP sets its level, which its children follow. */
  log: Logger;
  clock?: Clock;
  /** The key, trust store and lock list; default loaded from the files the configuration names. */
  references?: ConfigReferences;
  /** Reads the configuration again on SIGHUP (log level, lock list); default: the file is not re-read. */
  reloadConfig?: () => LoadedConfig;
  /** For NOTIFY_SOCKET and WATCHDOG_USEC; default process.env. */
  env?: NodeJS.ProcessEnv;
  version?: string;
}

/**
 * The agent as a long-running service (DESIGN.md §8): the store, the sync to the exchange,
 * the lock sources of its role, housekeeping, health and metrics, systemd notifications.
 *
 * start(): store (quick_check) → provisioned locks → sync → health/metrics → housekeeping
 * → lock sources → READY=1. stop(): STOPPING=1 → no new reads, reads in progress get
 * shutdown.readGraceMs then are checkpointed → sync stops (what is in flight goes back to
 * the queue) → listeners close → the database closes. Nothing is lost at any step: a
 * lock read is one store transaction, a sent row is done only on its receipt.
 */
export class Daemon extends EventEmitter<DaemonEvents> {
  readonly config: AgentConfig;
  readonly metrics: DaemonMetrics;
  readonly notifier: SystemdNotifier;
  readonly #o: DaemonOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  #state: DaemonState = 'new';
  #store: Store | undefined;
  #trust: TrustStore | undefined;
  #sync: SyncEngine | undefined;
  #pipeline: ReadPipeline | undefined;
  #health: HealthServer | undefined;
  #console: ConsoleServer | undefined;
  #consolePort: number | undefined;
  #maintenance: Maintenance | undefined;
  #serial: SerialSource | undefined;
  #ble: BleSource | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped: Promise<void> | undefined;
  #startedAt = 0;
  #reads = 0;

  constructor(options: DaemonOptions) {
    super();
    this.#o = options;
    this.config = options.loaded.config;
    this.#log = options.log.child({ component: 'daemon' });
    this.#clock = options.clock ?? systemClock;
    this.notifier = new SystemdNotifier({ log: options.log, ...(options.env ? { env: options.env } : {}) });
    this.metrics = new DaemonMetrics(
      {
        store: () => (this.#store?.open ? this.#store : undefined),
        sync: () => this.#sync,
        storePath: this.config.store.path,
        ready: () => this.ready().ok,
        serialPorts: () => this.#serial?.counts ?? { attached: 0, reading: 0 },
        clock: this.#clock,
      },
      { role: this.config.role, gatewayId: this.config.gateway.id, version: options.version ?? '0.1.0' },
    );
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** The open store (tests and the embedded demo look at it); undefined before start and after stop. */
  get store(): Store | undefined {
    return this.#store;
  }

  get sync(): SyncEngine | undefined {
    return this.#sync;
  }

  /** The health listener's port, when http.listen is set. */
  get httpPort(): number | undefined {
    return this.#health?.port;
  }

  /** The officers' console's port, when console.listen is set. */
  get consolePort(): number | undefined {
    return this.#consolePort;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new CtopError('E_DAEMON_STATE', `start() in state ${this.#state}`);
    this.#state = 'starting';
    this.#startedAt = this.#clock.now();
    const c = this.config;
    try {
      const refs = this.#references();
      const store = this.#openStore(refs);
      await this.#startSync(store, refs);
      if (c.http.listen !== null) {
        this.#health = await HealthServer.listen(
          c.http.listen,
          { health: () => this.health(), ready: () => this.ready(), metrics: () => this.metrics.expose() },
          this.#o.log,
        );
      }
      if (c.console.listen !== null) await this.#startConsole(c.console.listen, refs);
      this.#maintenance = new Maintenance({
        store,
        log: this.#o.log,
        retention: c.retention,
        spaceCheckSeconds: c.store.spaceCheckSeconds,
        onRetention: (report) => this.metrics.retentionRun(report !== undefined),
      });
      this.#maintenance.start();
      await this.#startSources();
    } catch (err) {
      this.#log.error({ err: (err as Error).message, code: (err as CtopError).code }, 'start failed');
      await this.#shutdown();
      this.#state = 'stopped';
      throw err;
    }
    this.#state = 'ready';
    const watchdogMs = this.notifier.watchdogMs;
    if (watchdogMs !== undefined) {
      // Half the interval, as sd_watchdog_enabled(3) advises.
      this.#watchdog = setInterval(() => this.#pingWatchdog(), Math.max(500, Math.floor(watchdogMs / 2)));
    }
    void this.notifier.ready(this.#statusLine());
    this.#log.info(
      {
        role: c.role,
        gatewayId: c.gateway.id,
        store: c.store.path,
        brokers: c.sync.brokers,
        serialPorts: c.serial.ports,
        ble: c.ble.enabled,
        http: this.#health ? `${c.http.listen?.replace(/:\d+$/, '')}:${this.#health.port}` : null,
        console: this.#consolePort ? `${c.console.listen?.replace(/:\d+$/, '')}:${this.#consolePort}` : null,
        watchdogMs: watchdogMs ?? null,
        ed25519Verifier: ED25519_VERIFIER,
      },
      'ready',
    );
    this.emit('ready');
  }

  /** The key, trust store and lock list: handed over, or loaded from the files the configuration names. */
  #references(): ConfigReferences {
    const refs = this.#o.references;
    if (refs) return refs;
    const loaded = loadReferences(this.#o.loaded, { officers: loadOfficers });
    for (const warning of loaded.warnings) this.#log.warn(warning);
    return loaded;
  }

  /** The store (quick_check), the provisioned locks, and revocations that arrived while the daemon was down. */
  #openStore(refs: ConfigReferences): Store {
    const c = this.config;
    this.#trust = refs.trust;
    const store = openStore({
      path: c.store.path,
      trustOnFirstUse: c.locks.trustOnFirstUse,
      clock: this.#clock,
      log: this.#o.log,
      quickCheck: true,
      space: {
        minFreeBytes: c.store.minFreeMiB * 1024 * 1024,
        reservePages: c.store.reservePages,
      },
    });
    this.#store = store;
    if (refs.provisioned.length > 0) this.#provision(refs.provisioned);
    try {
      // A revocation written to the trust store while the daemon was down.
      this.#applyRevocations();
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, code: (err as CtopError).code },
        'revocations not applied to stored manifests; the next reload tries again',
      );
    }
    return store;
  }

  /** The sync to the exchange, and the read pipeline that kicks it when a read queued rows. */
  async #startSync(store: Store, refs: ConfigReferences): Promise<SyncEngine> {
    const c = this.config;
    const sync = new SyncEngine({
      store,
      gatewayKey: refs.gatewayKey,
      trust: refs.trust,
      config: syncConfigOf(c),
      log: this.#o.log,
      clock: this.#clock,
    });
    this.#watchSync(sync);
    this.#sync = sync;
    this.#pipeline = new ReadPipeline({
      store,
      trust: refs.trust,
      gatewayId: c.gateway.id,
      log: this.#o.log,
      onQueued: () => sync.kick(),
    });
    this.#pipeline.on('read', (outcome) => {
      this.#reads++;
      this.metrics.lockRead(outcome);
      this.emit('read', outcome);
    });
    await sync.start();

    return sync;
  }

  /**
   * Graceful stop; resolves once the database is closed. Safe to call again (same promise).
   */
  stop(reason = 'stop requested'): Promise<void> {
    if (this.#stopped) return this.#stopped;
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#stopped = Promise.resolve();
      return this.#stopped;
    }
    this.#state = 'stopping';
    this.#log.info({ reason }, 'stopping: no new lock reads; reads in progress finish or are checkpointed');
    void this.notifier.stopping('stopping: checkpointing reads, stopping sync');
    this.emit('stopping');
    this.#stopped = this.#shutdown().then(() => {
      this.#state = 'stopped';
      this.#log.info({ reads: this.#reads }, 'stopped');
      this.emit('stopped');
    });
    return this.#stopped;
  }

  /**
   * SIGHUP: the trust store, the lock list and the gateway key from their files, the log
   * level from the configuration. Stored manifests whose signer the trust store now says
   * was revoked when they were created are flagged. A file that cannot be used leaves
   * what it would have replaced in force.
   */
  reload(): ReloadOutcome {
    const problems: string[] = [];
    let revokedManifests = 0;
    void this.notifier.reloading();
    if (this.#trust && reloadTrust(this.#trust, this.#log, problems)) {
      try {
        revokedManifests = this.#applyRevocations();
      } catch (err) {
        problems.push(`revocations: ${(err as Error).message}`);
        this.#log.error(
          { err: (err as Error).message, code: (err as CtopError).code },
          'revocations not applied to stored manifests; the next reload tries again',
        );
      }
    }
    if (this.#o.reloadConfig) {
      const c = this.config;
      try {
        const next = this.#o.reloadConfig().config;
        const root = this.#o.log;
        if (root.level !== next.log.level) {
          this.#log.info({ from: root.level, to: next.log.level }, 'log level changed');
          root.level = next.log.level;
        }
        if (next.locks.provisioned !== null && this.#store) {
          this.#provision(readProvisionedLocks(next.locks.provisioned));
        }
        if (this.#sync) rotateGatewayKey(this.#sync, next.gateway.key, c.gateway.id, this.#log, problems);
        const changed = changedRestartKeys(next, this.config);
        if (changed.length > 0) {
          this.#log.warn(
            { keys: changed },
            `changes to ${changed.join(', ')} take effect at the next restart`,
          );
        }
      } catch (err) {
        problems.push(`configuration: ${(err as Error).message}`);
        this.#log.error(
          { err: (err as Error).message, code: (err as CtopError).code },
          'configuration not reloaded: the running settings stay in force',
        );
      }
    }
    void this.notifier.ready(this.#statusLine());
    const outcome: ReloadOutcome = {
      trustKeys: this.#trust?.size ?? 0,
      revokedManifests,
      gatewayKid: this.#sync?.gatewayKid,
      problems,
    };
    this.emit('reloaded', outcome);
    return outcome;
  }

  /** Stored manifests newly flagged revoked (revocations.ts); the sync sends their alerts at once. */
  #applyRevocations(): number {
    const trust = this.#trust;
    const store = this.#store;
    if (!trust || !store?.open) return 0;
    const flagged = applyRevocations(trust, store, this.config.gateway.id, this.#clock.now(), this.#log);
    if (flagged > 0) this.#sync?.kick();
    return flagged;
  }

  /** Liveness: the store answers. */
  health(): Probe {
    const store = this.#store;
    let db = 'closed';
    if (store?.open) {
      try {
        store.ping();
        db = 'ok';
      } catch (err) {
        db = (err as Error).message;
      }
    }
    // While starting or stopping the database may be closed on purpose; once ready it must answer.
    const running = this.#state === 'starting' || this.#state === 'ready' || this.#state === 'stopping';
    const ok = running && (db === 'ok' || this.#state !== 'ready');
    return { ok, checks: { state: this.#state, db, uptimeSeconds: this.#uptime() } };
  }

  /** Readiness: started, not stopping, database sound and with room, sync running. */
  ready(): Probe {
    const store = this.#store;
    const sync = this.#sync?.status();
    const alarm = store?.open ? store.alarm : undefined;
    const checks: Record<string, unknown> = {
      state: this.#state,
      store: store?.open ? (alarm?.state === 'full' ? `full: ${alarm.reason}` : 'ok') : 'closed',
      quickCheck: store ? 'ok' : 'not run',
      sync: sync ? (sync.running ? (sync.connected ? 'connected' : 'offline') : 'stopped') : 'not started',
      backlog: sync?.backlog ?? null,
      ...(sync?.currentOutage ? { outageSince: new Date(sync.currentOutage.startedAt).toISOString() } : {}),
      serialPorts: this.#serial?.status() ?? [],
    };
    const ok =
      this.#state === 'ready' && store?.open === true && alarm?.state === 'ok' && sync?.running === true;
    return { ok, checks };
  }

  /** The officers' console on console.listen, over the same store (daemon-console.ts). */
  async #startConsole(listen: string, refs: ConfigReferences): Promise<void> {
    const app = createDaemonConsole({
      config: this.config,
      store: this.#store!,
      refs,
      events: this,
      ...(this.#health ? { healthPort: this.#health.port } : {}),
      log: this.#o.log,
      clock: this.#clock,
    });
    this.#console = app;
    this.#consolePort = await listenConsole(app, listen);
    this.#log.info(
      `officers' console on ${refs.console?.https ? 'https' : 'http'}://${listen.replace(/:\d+$/, '')}:${this.#consolePort}`,
    );
  }

  async #startSources(): Promise<void> {
    const c = this.config;
    if (c.role !== 'checkpoint') {
      this.#log.info('role loading: the devices are left to `ctop-agent pair`; syncing pairing records');
      return;
    }
    if (c.serial.ports.length > 0) {
      this.#serial = serialSourceOf(c, {
        store: this.#store!,
        accept: (result) => this.#pipeline!.accept(result, 'serial'),
        onProgress: (p) => this.emit('serial-progress', p),
        log: this.#o.log,
        clock: this.#clock,
      });
      this.#serial.start();
    }
    if (c.ble.enabled) {
      const ble = bleSourceOf(c, {
        store: this.#store!,
        accept: (result) => this.#pipeline!.accept(result, 'ble'),
        log: this.#o.log,
        clock: this.#clock,
      });
      ble.on('lock', (p) => this.emit('train-lock', p));
      ble.on('train-start', (e) => this.emit('train-start', e));
      ble.on('train-end', (summary) => {
        this.metrics.trainEnded(summary);
        this.emit('train-end', summary);
      });
      this.#ble = ble;
      await ble.start();
    }
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#watchdog);
    const grace = this.config.shutdown.readGraceMs;
    await Promise.all([
      this.#step('serial ports', () => this.#serial?.stop(grace)),
      this.#step('BLE train reader', () => this.#ble?.stop()),
    ]);
    this.#maintenance?.stop();
    await this.#step('sync', () => this.#sync?.stop());
    await this.#step('http listener', () => this.#health?.close());
    await this.#step('console', () => this.#console?.close());
    await this.#step('store', () => this.#store?.close());
    await this.notifier.flush();
  }

  /** One shutdown step; a failure is logged and the next step still runs. */
  async #step(what: string, action: () => unknown): Promise<void> {
    const started = this.#clock.monotonic();
    try {
      await action();
      this.#log.debug({ ms: Math.round(this.#clock.monotonic() - started) }, `${what} stopped`);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, `stopping ${what} failed`);
    }
  }

  #provision(list: { lockId: string; identityKey: Uint8Array }[]): void {
    const { pinned, unchanged } = this.#store!.locks.provision(list, this.#clock.now());
    this.#log.info({ pinned, unchanged, locks: list.length }, 'provisioned lock keys applied');
  }

  #watchSync(sync: SyncEngine): void {
    sync.on('sent', (e) => this.metrics.sent(e.kind, e.resend));
    sync.on('receipt', (e) => {
      if (e.changed) this.metrics.receipt(e.kind, e.status);
    });
    sync.on('rejection', (e) => this.metrics.rejection(e.kind, e.reason));
    sync.on('receipt-ignored', (e) => this.metrics.receiptIgnored(e.code));
    sync.on('outage-start', () => void this.notifier.status(this.#statusLine()));
    sync.on('outage-end', (o) => {
      this.metrics.outageEnded(o.cause, ((o.endedAt ?? this.#clock.now()) - o.startedAt) / 1000);
      void this.notifier.status(this.#statusLine());
    });
  }

  #pingWatchdog(): void {
    const health = this.health();
    if (health.ok) void this.notifier.notify({ WATCHDOG: '1', STATUS: this.#statusLine() });
    else this.#log.error(health.checks, 'unhealthy: withholding the watchdog ping (systemd will restart us)');
  }

  /** One line for `systemctl status`. */
  #statusLine(): string {
    const sync = this.#sync?.status();
    const ports = this.#serial?.counts;
    const parts = [
      `${this.config.role} ${this.config.gateway.id}`,
      `${this.#reads} reads`,
      ports ? `${ports.attached} serial port(s)` : undefined,
      sync ? `backlog ${sync.backlog}` : undefined,
      sync ? (sync.connected ? `connected ${sync.broker}` : 'exchange unreachable') : undefined,
    ];
    return parts.filter(Boolean).join('; ');
  }

  #uptime(): number {
    return this.#startedAt === 0 ? 0 : Math.round((this.#clock.now() - this.#startedAt) / 1000);
  }
}
