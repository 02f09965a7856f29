import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { type Clock, systemClock, WallClockSteps } from '../clock.js';
import { CtopError } from '../errors.js';
import {
  Ed25519Signer,
  encodeStatus,
  gatewayTopic,
  KIND_TOPICS,
  kidBelongsTo,
  type QueryResult,
} from '../exchange-wire/index.js';
import type { PrivateKey, TrustStore } from '../keys/index.js';
import { type Logger, silentLogger } from '../log.js';
import {
  OUTBOX_KINDS,
  type OutboxKind,
  type OutboxSealer,
  type Store,
  type UnsealedRow,
} from '../store/index.js';
import { loadTlsFiles, type ResolvedSyncConfig, resolveSyncConfig, type SyncConfig } from './config.js';
import { BrokerConnection, type ConnectionDown, type ConnectionUp } from './connection.js';
import { loadBrokerPassword } from './credentials.js';
import type { SyncEventMap, SyncStatus } from './events.js';
import { InFlightRegistry } from './in-flight.js';
import { OutageTracker } from './outage-tracker.js';
import { PublishedCopies } from './published-copies.js';
import { type DocumentQuery, QueryClient, type UpdatesQuery } from './query-client.js';
import { announceReceipts, settleReceipts } from './receipts.js';
import { SendWindow } from './send-window.js';
import { OutboxSender } from './sender.js';
import { StatsBuffer, transactWithStats } from './store-tx.js';

/** A gateway key's signer; the exchange refuses envelopes whose kid does not name the gateway of the topic. */
function gatewaySigner(
  key: PrivateKey,
  gatewayId: string,
  code: 'E_SYNC_CONFIG' | 'E_KEY_ROLE',
): Ed25519Signer {
  const signer = new Ed25519Signer(key, 'gateway');
  if (!kidBelongsTo(signer.kid, gatewayId)) {
    throw new CtopError(
      code,
      `gateway key ${signer.kid} does not belong to gateway ${gatewayId}: its kid must be "${gatewayId}" or "${gatewayId}.<suffix>"`,
    );
  }
  return signer;
}

/** How long receipts are gathered before they are settled together. */
const RECEIPT_GATHER_MS = 5;
/** What the send window lets out before any receipt came back (SendWindow's floor). */
const WINDOW_FLOOR_BYTES = 256 * 1024;
/** The envelope size assumed before any is in flight (a manifest's is ~9 KB). */
const INITIAL_ENVELOPE_BYTES = 16 * 1024;

export interface SyncEngineOptions {
  store: Store;
  /** The gateway's Ed25519 key (role gateway); its kid is the gateway id or `{gatewayId}.{suffix}`. */
  gatewayKey: PrivateKey;
  /** Holds the exchange key(s) receipts and answers must be signed with. */
  trust: TrustStore;
  config: SyncConfig;
  log?: Logger;
  clock?: Clock;
  /** Uniform in [0, 1) for reconnect jitter. */
  random?: () => number;
}

/**
 * Drains the outbox to the exchange over MQTT (DESIGN.md §7, EXCHANGE.md): every row goes
 * out in a signed envelope, QoS 1, and is done only when the exchange's signed receipt for
 * exactly that content arrives — never on PUBACK. No receipt in time: the row goes back to
 * the queue with the store's backoff and is sent again under the same messageId. A
 * rejection quarantines the row. Periods without a working path are recorded as outages and
 * reported to the exchange once it is back.
 *
 * Crash safety comes from the store, not from memory: a row is in flight in the database
 * while published, `recoverInFlight` re-queues it after a crash, and the exchange
 * deduplicates by messageId — so killing the process at any instant loses nothing and
 * duplicates nothing at the exchange.
 */
export class SyncEngine extends EventEmitter<SyncEventMap> {
  readonly config: ResolvedSyncConfig;
  readonly #store: Store;
  readonly #trust: TrustStore;
  #signer: Ed25519Signer;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #connection: BrokerConnection;
  readonly #tracker: OutageTracker;
  readonly #queries: QueryClient;
  readonly #inFlight = new InFlightRegistry();
  readonly #copies = new PublishedCopies();
  /** The bytes that may be out without a receipt: what the link answered lately (send-window.ts). */
  readonly #window: SendWindow;
  /** The average envelope in flight, to turn the window's bytes into rows to claim. */
  #envelopeBytes = INITIAL_ENVELOPE_BYTES;
  readonly #stats = new StatsBuffer();
  #running = false;
  #stopping = false;
  /** Connection number; bumped on every up and down, so late callbacks of an old connection are ignored. */
  #epoch = 0;
  #client: MqttClient | undefined;
  #up: (ConnectionUp & { at: number }) | undefined;
  #pumping = false;
  #pumpAgain = false;
  #ticker: NodeJS.Timeout | undefined;
  /** Monotonic time of the last claim. */
  #lastPoll = Number.NEGATIVE_INFINITY;
  #clockSteps: WallClockSteps | undefined;
  #receipts: Buffer[] = [];
  #receiptTimer: NodeJS.Timeout | undefined;
  #lastReceiptAt: number | undefined;
  #failStreak = 0;
  readonly #sender: OutboxSender;
  readonly #epochNow = () => this.#epoch;
  #sealWarned = false;

  constructor(options: SyncEngineOptions) {
    super();
    this.config = resolveSyncConfig(options.config);
    const c = this.config;
    this.#store = options.store;
    this.#trust = options.trust;
    this.#signer = gatewaySigner(options.gatewayKey, c.gatewayId, 'E_SYNC_CONFIG');
    this.#log = (options.log ?? silentLogger).child({ component: 'sync' });
    this.#clock = options.clock ?? systemClock;
    this.#window = new SendWindow({
      spanMs: c.receiptTimeoutMs / 4,
      floorBytes: WINDOW_FLOOR_BYTES,
      ceilingBytes: c.maxInFlightBytes,
    });
    this.#sender = new OutboxSender({
      store: this.#store,
      signer: this.#signer,
      inFlight: this.#inFlight,
      copies: this.#copies,
      stats: this.#stats,
      envelope: { from: c.address, to: c.exchangeAddress, replyTo: c.topics.receipt },
      topics: Object.fromEntries(OUTBOX_KINDS.map((k) => [k, gatewayTopic(c, KIND_TOPICS[k])])) as Record<
        OutboxKind,
        string
      >,
      protocolVersion: c.protocolVersion,
      envelopeVersion: c.envelopeVersion,
      receiptTimeoutMs: c.receiptTimeoutMs,
      log: this.#log,
      clock: this.#clock,
      emit: (event, payload) => (this.emit as (e: string, p: unknown) => boolean)(event, payload),
    });
    // Rows the store makes from now on carry their envelope signed once (version 1.2).
    this.#store.outbox.useSealer((row) => this.#sealNewRow(row));
    this.#connection = new BrokerConnection({
      brokers: c.brokers,
      ...(c.tls ? { tls: loadTlsFiles(c.tls) } : {}),
      clientId: c.clientId,
      ...(c.username === undefined ? {} : { username: c.username }),
      ...(c.passwordFile === undefined ? {} : { password: loadBrokerPassword(c.passwordFile) }),
      protocolVersion: c.protocolVersion,
      keepaliveSeconds: c.keepaliveSeconds,
      connectTimeoutMs: c.connectTimeoutMs,
      reconnectDelayMs: c.reconnectDelayMs,
      sessionExpirySeconds: c.sessionExpirySeconds,
      will: () => ({
        topic: c.topics.status,
        payload: encodeStatus({ state: 'offline', from: c.address, at: this.#clock.now(), reason: 'lost' }),
      }),
      log: this.#log,
      ...(options.random ? { random: options.random } : {}),
    });
    this.#connection.on('up', (up) => this.#onUp(up));
    this.#connection.on('down', (down) => this.#onDown(down));
    this.#tracker = new OutageTracker({
      store: this.#store,
      from: c.address,
      graceMs: c.outageGraceMs,
      monotonic: () => this.#clock.monotonic(),
      log: this.#log,
      onStart: (o) => this.emit('outage-start', o),
      onEnd: (o) => {
        this.emit('outage-end', o);
        this.kick();
      },
    });
    this.#queries = new QueryClient({
      signer: this.#signer,
      trust: this.#trust,
      from: c.address,
      to: c.exchangeAddress,
      topics: { query: c.topics.query, queryResult: c.topics.queryResult },
      timeoutMs: c.queryTimeoutMs,
      protocolVersion: c.protocolVersion,
      clock: this.#clock,
      log: this.#log,
    });
  }

  /** Re-queues what a crash left in flight, then connects and drains. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    const recovered = this.#store.outbox.recoverInFlight();
    if (recovered > 0)
      this.#log.info({ recovered }, `${recovered} outbox rows left in flight by the last run queued again`);
    const stranded = this.#store.outbox.rescheduleStranded(this.#clock.now());
    if (stranded > 0)
      this.#log.warn(
        { stranded },
        `${stranded} outbox rows were scheduled before the wall clock stepped back while the daemon was down: due now`,
      );
    this.#clockSteps = new WallClockSteps(this.#clock);
    this.#tracker.start(this.#clock.now());
    const tickMs = Math.max(
      10,
      Math.min(1000, Math.floor(this.config.receiptTimeoutMs / 4), this.config.pollIntervalMs),
    );
    this.#ticker = setInterval(() => this.#tick(), tickMs);
    this.#connection.start();
    this.#log.info(
      {
        brokers: this.config.brokers,
        address: this.config.address,
        protocolVersion: this.config.protocolVersion,
      },
      'sync started',
    );
  }

  /**
   * Graceful stop: no new claims, a short wait for the receipts of what is in flight, the
   * retained status set to offline, then what is still in flight goes back to the queue.
   */
  async stop(): Promise<void> {
    if (!this.#running || this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#ticker);
    const deadline = this.#clock.monotonic() + this.config.stopTimeoutMs;
    while (this.#inFlight.size > 0 && this.#client && this.#clock.monotonic() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const now = this.#clock.now();
    await this.#connection.stop(
      async (client) => {
        await client.publishAsync(
          this.config.topics.status,
          encodeStatus({
            state: 'offline',
            from: this.config.address,
            at: now,
            reason: 'stopped',
            backlog: this.#backlog(),
          }),
          { qos: 1, retain: true },
        );
      },
      Math.max(100, this.config.stopTimeoutMs),
    );
    // Disconnected: no receipt comes after this one last settling.
    this.#flushReceipts();
    this.#client = undefined;
    this.#up = undefined;
    this.#queries.failAll(new CtopError('E_SYNC_OFFLINE', 'sync stopped'));
    this.#inFlight.clear();
    transactWithStats(this.#store, this.#stats, () => this.#store.outbox.recoverInFlight());
    this.#running = false;
    this.#log.info('sync stopped');
  }

  /** The kid of the key envelopes and queries are signed with now. */
  get gatewayKid(): string {
    return this.#signer.kid;
  }

  /**
   * Gateway key rotation (docs/OPERATIONS.md): from the next publish on, envelopes and
   * queries are signed with `key`. Nothing queued or in flight is touched: a row keeps its
   * messageId (derived from the content, not the key), so a resend of a message first
   * signed with the old key is still the same message at the exchange. A key that is not
   * this gateway's is refused (E_KEY_ROLE) and the current one stays in force.
   */
  rotateGatewayKey(key: PrivateKey): { from: string; to: string } {
    const signer = gatewaySigner(key, this.config.gatewayId, 'E_KEY_ROLE');
    const from = this.#signer.kid;
    this.#signer = signer;
    this.#sender.useSigner(signer);
    this.#queries.useSigner(signer);
    return { from, to: signer.kid };
  }

  #sealNewRow(row: UnsealedRow): ReturnType<OutboxSealer> {
    try {
      return this.#sender.sealNew(row);
    } catch (err) {
      if (!this.#sealWarned) {
        this.#sealWarned = true;
        this.#log.warn(
          { err: (err as Error).message, kind: row.kind },
          'could not sign a new outbox row once, when it was made: it is kept and signed when it is sent (logged once)',
        );
      }
      return undefined;
    }
  }

  /** New rows were added to the outbox: look now instead of at the next poll. */
  kick(): void {
    if (this.#client) setImmediate(() => this.#pump());
  }

  status(): SyncStatus {
    const now = this.#clock.now();
    const outbox = this.#store.outbox.status(now);
    const current = this.#tracker.current;
    return {
      running: this.#running && !this.#stopping,
      connected: this.#client !== undefined,
      ...(this.#up
        ? { broker: this.#up.broker, sessionPresent: this.#up.sessionPresent, connectedSince: this.#up.at }
        : {}),
      protocolVersion: this.config.protocolVersion,
      envelopes: { version: this.config.envelopeVersion, ...this.#sender.signatures },
      inFlight: this.#inFlight.size,
      backlog: outbox.counts.queued + outbox.counts.in_flight,
      outbox: outbox.counts,
      ...(outbox.oldestUnacknowledgedAgeMs === undefined
        ? {}
        : { oldestUnacknowledgedAgeMs: outbox.oldestUnacknowledgedAgeMs }),
      ...(current
        ? { currentOutage: current, currentOutageMs: this.#tracker.currentLengthMs(now) ?? 0 }
        : {}),
      ...(this.#lastReceiptAt === undefined ? {} : { lastReceiptAt: this.#lastReceiptAt }),
    };
  }

  /** EEC decision No. 124 "by document": what the exchange holds about a manifest, container or message. */
  queryByDocument(query: DocumentQuery): Promise<QueryResult> {
    return this.#queries.byDocument(this.#connected(), query);
  }

  /** EEC decision No. 124 "updates for a period": what the exchange recorded from this gateway. */
  queryUpdates(query: UpdatesQuery): Promise<QueryResult> {
    return this.#queries.updates(this.#connected(), query);
  }

  #connected(): MqttClient {
    if (!this.#client) throw new CtopError('E_SYNC_OFFLINE', 'not connected to a broker');
    return this.#client;
  }

  #backlog(): number {
    const { counts } = this.#store.outbox.status(this.#clock.now());
    return counts.queued + counts.in_flight;
  }

  async #onUp(up: ConnectionUp): Promise<void> {
    const epoch = ++this.#epoch;
    const c = this.config;
    const { client } = up;
    client.on('message', (topic, payload) => {
      if (topic === c.topics.receipt) this.#onReceipt(payload);
      else if (topic === c.topics.queryResult) this.#queries.handle(payload);
    });
    try {
      const granted = await client.subscribeAsync([c.topics.receipt, c.topics.queryResult], { qos: 1 });
      const refused = granted.filter((g) => g.qos >= 0x80);
      if (refused.length > 0) {
        // Receipts can never arrive: the no_receipts outage will show it; say why here.
        this.#log.error(
          { topics: refused.map((g) => g.topic) },
          'the broker refused the receipt subscription (ACL?)',
        );
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'subscribe failed; the connection is dropped');
      client.end(true);
      return;
    }
    if (epoch !== this.#epoch || this.#stopping) return;
    const now = this.#clock.now();
    this.#client = client;
    this.#up = { ...up, at: now };
    this.#failStreak = 0;
    this.#tracker.connected(now);
    client.publish(
      c.topics.status,
      encodeStatus({
        state: 'online',
        from: c.address,
        at: now,
        reason: 'connected',
        backlog: this.#backlog(),
      }),
      { qos: 1, retain: true },
    );
    this.#log.info(
      { broker: up.broker, sessionPresent: up.sessionPresent, inFlight: this.#inFlight.size },
      'connected',
    );
    this.emit('connected', {
      broker: up.broker,
      sessionPresent: up.sessionPresent,
      protocolVersion: c.protocolVersion,
    });
    this.#sender.reconnected(client, up.sessionPresent, this.#epochNow);
    this.#pump();
  }

  #onDown(down: ConnectionDown): void {
    const now = this.#clock.now();
    const wasUp = this.#client !== undefined;
    this.#epoch++;
    this.#client = undefined;
    this.#up = undefined;
    this.#tracker.failed(down.cause, `${down.broker}: ${down.detail}`, now);
    this.#queries.failAll(new CtopError('E_SYNC_OFFLINE', `connection lost: ${down.detail}`));
    const fields = { broker: down.broker, cause: down.cause, detail: down.detail };
    if (wasUp) {
      this.#log.warn(fields, 'connection to the broker lost');
      this.emit('disconnected', fields);
    } else if (this.#failStreak++ === 0) {
      this.#log.warn(fields, 'cannot connect to the broker; trying the others in turn');
    } else {
      this.#log.debug(fields, 'connection attempt failed');
    }
  }

  /** Claims due rows up to the in-flight limit and publishes them; again while there is room. */
  #pump(): void {
    const client = this.#client;
    if (!client || this.#stopping || !this.#running) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      const room = Math.min(this.config.maxInFlight - this.#inFlight.size, this.config.claimBatch);
      const { count, bytes } = this.#inFlight.totals();
      if (count > 0 && bytes > 0) this.#envelopeBytes = bytes / count;
      const roomBytes = this.#window.limit(this.#clock.monotonic()) - bytes;
      if (room <= 0 || roomBytes <= 0) return;
      const limit = Math.min(room, Math.ceil(roomBytes / this.#envelopeBytes));
      this.#lastPoll = this.#clock.monotonic();
      if (this.#sender.claimAndPublish(client, this.#epochNow, limit) === limit) this.#pumpAgain = true;
    } catch (err) {
      this.#log.error({ err: (err as Error).message, code: (err as CtopError).code }, 'outbox claim failed');
    } finally {
      this.#pumping = false;
    }
    if (this.#pumpAgain) {
      this.#pumpAgain = false;
      // Yield first: receipts that arrived meanwhile are settled before the next batch.
      setImmediate(() => this.#pump());
    }
  }

  #onReceipt(payload: Buffer): void {
    if (!this.#running) return;
    this.#receipts.push(payload);
    // A few ms of grace gathers the receipts of a busy drain into one transaction (one fsync).
    this.#receiptTimer ??= setTimeout(() => this.#flushReceipts(), RECEIPT_GATHER_MS);
  }

  /** Settles every receipt that arrived since the last flush in one transaction. */
  #flushReceipts(): void {
    clearTimeout(this.#receiptTimer);
    this.#receiptTimer = undefined;
    const batch = this.#receipts;
    if (batch.length === 0) return;
    this.#receipts = [];
    const now = this.#clock.now();
    let outcome: ReturnType<typeof settleReceipts>;
    try {
      outcome = settleReceipts(batch, {
        store: this.#store,
        trust: this.#trust,
        address: this.config.address,
        inFlight: this.#inFlight,
        copies: this.#copies,
        stats: this.#stats,
        now,
      });
    } catch (err) {
      // The store failed (disk?): the receipts will come again with the resends.
      this.#log.error(
        { err: (err as Error).message, code: (err as CtopError).code },
        'receipts not recorded',
      );
      return;
    }
    let answered = 0;
    for (const s of outcome.settled) answered += this.#inFlight.get(s.messageId)?.bytes ?? 0;
    this.#window.answered(answered, this.#clock.monotonic());
    announceReceipts(outcome, {
      log: this.#log,
      inFlight: this.#inFlight,
      copies: this.#copies,
      emit: (event, payload) => (this.emit as (e: string, p: unknown) => boolean)(event, payload),
    });
    if (outcome.settled.length > 0 || outcome.verified > 0) {
      this.#lastReceiptAt = now;
      this.#sender.answered(now);
      this.#tracker.working(now);
    }
    // Not in the same turn: the settling's commit and the next batch's claim, signatures and
    // commit in one go would hold the event loop for two fsyncs and a batch of signatures,
    // while a train's lock reads (BLE bytes, their own store writes) wait behind them.
    setImmediate(() => this.#pump());
  }

  /**
   * The wall clock stepped (NTP, GPS). Receipt timeouts run on the monotonic clock; the
   * outbox's schedule is wall time, kept across restarts: after a backward step every queued
   * row moves back with it, so what was due in 5 s is still due in 5 s, not in 45 minutes
   * and 5 s. A forward step needs nothing: rows fall due early, and an early resend is a
   * duplicate the exchange answers (and shifting forward would also delay the rows queued
   * between the step and this look).
   */
  #onClockStep(step: number): void {
    const moved =
      step < 0
        ? transactWithStats(this.#store, this.#stats, () => this.#store.outbox.shiftSchedule(step))
        : 0;
    this.#log.warn(
      { stepMs: step, moved },
      `wall clock stepped ${step > 0 ? 'forward' : 'back'} by ${Math.abs(step / 1000).toFixed(1)} s` +
        (step < 0 ? `: ${moved} queued outbox rows keep the wait they had left` : ''),
    );
  }

  #tick(): void {
    const now = this.#clock.now();
    try {
      const step = this.#clockSteps?.look() ?? 0;
      if (step !== 0) this.#onClockStep(step);
      if (this.#client) {
        // No receipt can come while disconnected: timeouts run only on a connection.
        this.#sender.expire(now);
        const waiting = this.#sender.waitingSince;
        if (
          waiting !== undefined &&
          this.#clock.monotonic() - waiting.mono >= this.config.noReceiptOutageMs
        ) {
          const since = waiting.at;
          this.#tracker.unanswered(
            since,
            `${this.#inFlight.size} messages without a receipt since ${new Date(since).toISOString()}`,
            now,
          );
        }
        if (this.#tracker.broken && this.#inFlight.size === 0 && this.#backlog() === 0) {
          // Nothing waits: the connection is all the path there is to prove.
          this.#sender.answered(now);
          this.#tracker.working(now);
        }
      }
      this.#tracker.tick();
      if (!this.#stats.empty) transactWithStats(this.#store, this.#stats, () => undefined);
      if (this.#clock.monotonic() - this.#lastPoll >= this.config.pollIntervalMs) this.#pump();
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, code: (err as CtopError).code },
        'sync housekeeping failed',
      );
    }
  }
}
