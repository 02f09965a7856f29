import { EventEmitter } from 'node:events';
import { connect, type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { TlsMaterial } from './config.js';
import { keepaliveTimer } from './keepalive-timer.js';
import { mqttClientLog } from './mqtt-client-log.js';
import { dropMqttNumberCache } from './mqtt-number-cache.js';
import { storePublishesWithoutCopy } from './mqtt-publish-copy.js';
import { type ClassifiedCause, classifyConnectionError, type OutageCause } from './outage-cause.js';

export interface BrokerConnectionOptions {
  /** Tried in turn; after a full round without success, a pause of `reconnectDelayMs`. */
  brokers: readonly string[];
  tls?: TlsMaterial;
  clientId: string;
  /** Password login; the password is sent in CONNECT only, never logged. */
  username?: string;
  password?: Buffer;
  protocolVersion: 4 | 5;
  keepaliveSeconds: number;
  connectTimeoutMs: number;
  reconnectDelayMs: number;
  /** MQTT 5 only; a 3.1.1 session lasts as long as the broker's own setting. */
  sessionExpirySeconds: number;
  /** The last will, built afresh for every connection attempt. */
  will: () => { topic: string; payload: Buffer };
  log: Logger;
  /** Uniform in [0, 1) for the reconnect jitter. Default Math.random. */
  random?: () => number;
}

export interface ConnectionUp {
  client: MqttClient;
  broker: string;
  /** The broker still had this gateway's session (subscriptions, queued receipts). */
  sessionPresent: boolean;
  /** MQTT 5: how many unacknowledged QoS 1 publishes the broker accepts at once. */
  receiveMaximum?: number;
}

export interface ConnectionDown extends ClassifiedCause {
  broker: string;
  /** A CONNACK had been received: an established connection was lost (not a failed attempt). */
  established: boolean;
}

interface ConnectionEvents {
  up: [ConnectionUp];
  down: [ConnectionDown];
}

/**
 * One MQTT connection at a time to the first broker of the list that answers. Each attempt
 * is a fresh mqtt.js client with its own reconnect switched off, so every failure is seen
 * here, classified (DNS, unreachable, TLS, refused, timeouts) and reported as `down`, and
 * the next broker is tried. Persistent session: clean start off, so the broker keeps the
 * subscription and the receipts of a gateway that is away.
 */
export class BrokerConnection extends EventEmitter<ConnectionEvents> {
  readonly #o: BrokerConnectionOptions;
  readonly #log: Logger;
  #client: MqttClient | undefined;
  #up = false;
  #stopped = true;
  #next = 0;
  #failedInRound = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BrokerConnectionOptions) {
    super();
    this.#o = options;
    this.#log = options.log;
  }

  get isUp(): boolean {
    return this.#up;
  }

  /** The connected client, or undefined between connections. */
  get client(): MqttClient | undefined {
    return this.#up ? this.#client : undefined;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt();
  }

  /**
   * Ends the connection: `beforeEnd` runs while still connected (the offline status), then
   * a DISCONNECT is sent so the broker does not publish the last will.
   */
  async stop(beforeEnd?: (client: MqttClient) => Promise<void>, timeoutMs = 2000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    const wasUp = this.#up;
    this.#up = false;
    if (!client) return;
    // A broker that died a moment ago never answers: neither step may wait for it forever.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const bounded = async (work: Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          work,
          closed,
          new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
      } finally {
        clearTimeout(timer);
      }
    };
    if (wasUp && beforeEnd) {
      try {
        await bounded(beforeEnd(client));
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'before disconnect');
      }
    }
    await bounded(new Promise<void>((resolve) => client.end(!wasUp, {}, () => resolve())));
    client.end(true);
  }

  #options(): IClientOptions {
    const o = this.#o;
    const will = o.will();
    return {
      clientId: o.clientId,
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      protocolVersion: o.protocolVersion,
      clean: false,
      keepalive: o.keepaliveSeconds,
      timerVariant: keepaliveTimer(),
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      ...mqttClientLog(),
      will: { topic: will.topic, payload: will.payload, qos: 1, retain: true },
      ...(o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpirySeconds } } : {}),
      ...(o.tls
        ? {
            ca: o.tls.ca,
            ...(o.tls.cert ? { cert: o.tls.cert } : {}),
            ...(o.tls.key ? { key: o.tls.key } : {}),
            ...(o.tls.servername ? { servername: o.tls.servername } : {}),
            rejectUnauthorized: true,
          }
        : {}),
    };
  }

  #attempt(): void {
    if (this.#stopped) return;
    const broker = this.#o.brokers[this.#next % this.#o.brokers.length]!;
    let client: MqttClient;
    let lastError: unknown;
    let established = false;
    let upSince = 0;
    let closed = false;
    try {
      dropMqttNumberCache();
      client = connect(broker, this.#options());
      storePublishesWithoutCopy(client);
    } catch (err) {
      // mqtt.js throws synchronously for an unusable URL; counts as a failed attempt.
      this.#failed(broker, classifyConnectionError(err, false), false);
      return;
    }
    this.#client = client;
    this.#log.debug({ broker }, 'connecting');
    client.on('error', (err) => {
      lastError = err;
    });
    client.on('connect', (connack: IConnackPacket) => {
      if (this.#client !== client || this.#stopped) return;
      established = true;
      upSince = Date.now();
      this.#up = true;
      this.#failedInRound = 0;
      const receiveMaximum = connack.properties?.receiveMaximum;
      this.emit('up', {
        client,
        broker,
        sessionPresent: connack.sessionPresent === true,
        ...(receiveMaximum === undefined ? {} : { receiveMaximum }),
      });
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      client.end(true);
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#up = false;
      // A connection that dies at once (another client taking over the session id) must not spin.
      const lasted = established && Date.now() - upSince >= this.#o.reconnectDelayMs;
      this.#failed(broker, classifyConnectionError(lastError, established), established, lasted);
    });
  }

  #failed(broker: string, cause: ClassifiedCause, established: boolean, lasted = false): void {
    this.emit('down', { broker, ...cause, established });
    if (this.#stopped) return;
    if (lasted) {
      // The broker we had is the best bet: try it again at once, then the others.
      this.#failedInRound = 0;
      this.#schedule(0);
      return;
    }
    this.#failedInRound++;
    this.#next++;
    if (this.#failedInRound % this.#o.brokers.length !== 0) {
      this.#schedule(0);
      return;
    }
    const random = this.#o.random ?? Math.random;
    this.#schedule(Math.round(this.#o.reconnectDelayMs * (0.5 + random())));
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#attempt(), ms);
  }
}

export type { OutageCause };
