import { connect, type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { type Clock, systemClock } from '../clock.js';
import { CtopError } from '../errors.js';
import {
  ADDRESS_PATTERN,
  Ed25519Signer,
  MAX_RECEIPT_RESULTS,
  TOPIC_ROOT,
  UPSTREAM_TOPICS,
} from '../exchange-wire/index.js';
import type { PrivateKey, TrustStore } from '../keys/index.js';
import { type Logger, silentLogger } from '../log.js';
import { loadTlsFiles, type TlsFiles } from '../sync/config.js';
import { mqttClientLog } from '../sync/mqtt-client-log.js';
import { dropMqttNumberCache } from '../sync/mqtt-number-cache.js';
import { type ExchangeCounters, type ExchangeFaults, zeroCounters } from './counters.js';
import { ExchangeDb } from './db.js';
import { ExchangeHandlers, type Incoming } from './message-handlers.js';

export interface ExchangeOptions {
  brokerUrl: string;
  /** The exchange's own SQLite file (created 0600). */
  dbPath: string;
  /** Signs receipts and answers (role exchange). */
  key: PrivateKey;
  /** Gateway keys (role gateway) and customs signer keys (manifests). */
  trust: TrustStore;
  /** Default `CTOP://KZ/EXCHANGE`. */
  address?: string;
  tls?: TlsFiles;
  protocolVersion?: 4 | 5;
  /** Default `ctop-exchange`: one persistent session, so nothing sent while it is down is lost. */
  clientId?: string;
  /** Password login (the broker's exchange user). */
  username?: string;
  password?: Buffer;
  keepaliveSeconds?: number;
  reconnectPeriodMs?: number;
  /** Results per receipt when several messages of one gateway are answered together. Default 64 (one signature per 64 results for the exchange to make and the gateway to check). */
  maxReceiptResults?: number;
  log?: Logger;
  clock?: Clock;
  faults?: ExchangeFaults;
  /** Makes the MQTT client (default mqtt.js `connect`): tests stand between the exchange and the broker here. */
  connect?: (brokerUrl: string, options: IClientOptions) => MqttClient;
}

export interface Exchange {
  readonly address: string;
  readonly db: ExchangeDb;
  readonly stats: ExchangeCounters;
  readonly connected: boolean;
  stop(): Promise<void>;
}

/**
 * The reference exchange (EXCHANGE.md): subscribes to every gateway's upstream topics,
 * verifies each envelope (gateway key bound to the topic, signature, messageId, payload
 * hash, the manifest's customs signature), records it once by messageId in its own SQLite,
 * and answers with signed receipts; answers the two queries of decision No. 124.
 * Messages are handled in batches: one transaction and one receipt per gateway per batch.
 * Resolves once connected and subscribed.
 */
export async function startExchange(options: ExchangeOptions): Promise<Exchange> {
  const log = (options.log ?? silentLogger).child({ component: 'exchange' });
  const { address, maxResults, signer } = checkOptions(options);
  const protocolVersion = options.protocolVersion ?? 5;
  const db = new ExchangeDb(options.dbPath);
  const stats = zeroCounters();
  const subscriptions = [...UPSTREAM_TOPICS, 'status'].map((level) => `${TOPIC_ROOT}/+/+/+/${level}`);
  dropMqttNumberCache();
  const client: MqttClient = (options.connect ?? connect)(
    options.brokerUrl,
    mqttOptions(options, protocolVersion),
  );
  const handlers = new ExchangeHandlers({
    client,
    db,
    trust: options.trust,
    signer,
    address,
    protocolVersion,
    maxResults,
    stats,
    log,
    clock: options.clock ?? systemClock,
    ...(options.faults ? { faults: options.faults } : {}),
  });
  let queue: Incoming[] = [];
  let scheduled = false;
  let stopped = false;

  client.on('error', (err) => log.warn({ err: err.message }, 'exchange connection error'));
  client.on('connect', resubscribeOnConnect(client, subscriptions, log));
  // mqtt.js answers each QoS 1 message with its PUBACK on a turn of its own, one socket
  // write each; corked from a burst's first message to the batch's turn, a burst's PUBACKs
  // leave in one write (a drain of 2,400 messages: 2,076 writes → 51).
  let corked: MqttClient['stream'] | undefined;
  client.on('message', (topic, payload, packet) => {
    queue.push({ topic, payload, packet });
    if (!scheduled) {
      scheduled = true;
      corked = client.stream;
      corked.cork();
      setImmediate(drainQueue);
    }
  });

  function drainQueue(): void {
    scheduled = false;
    corked?.uncork();
    corked = undefined;
    if (stopped) return;
    const batch = queue.slice(0, 512);
    queue = queue.slice(batch.length);
    try {
      handlers.handleBatch(batch);
    } catch (err) {
      // The database failed: nothing of the batch was recorded or answered; the gateways resend.
      log.error({ err: (err as Error).message }, 'exchange batch failed');
    }
    if (queue.length > 0 && !scheduled) {
      scheduled = true;
      setImmediate(drainQueue);
    }
  }

  await subscribed(client, subscriptions);
  log.info({ broker: options.brokerUrl, address }, 'exchange ready');

  return {
    address,
    db,
    stats,
    get connected() {
      return client.connected;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Messages the broker already handed over (and mqtt.js acknowledged) are recorded and
      // answered before the connection closes; they are not the broker's to redeliver.
      try {
        while (queue.length > 0) handlers.handleBatch(queue.splice(0, 512));
      } catch (err) {
        log.error({ err: (err as Error).message }, 'exchange batch failed while stopping');
      }
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      db.close();
    },
  };
}

function checkOptions(options: ExchangeOptions): {
  address: string;
  maxResults: number;
  signer: Ed25519Signer;
} {
  const address = options.address ?? 'CTOP://KZ/EXCHANGE';
  if (!ADDRESS_PATTERN.test(address))
    throw new CtopError('E_EXCHANGE_CONFIG', `address "${address}" must look like CTOP://KZ/EXCHANGE`);
  const maxResults = options.maxReceiptResults ?? 64;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RECEIPT_RESULTS) {
    throw new CtopError('E_EXCHANGE_CONFIG', `maxReceiptResults must be 1 to ${MAX_RECEIPT_RESULTS}`);
  }
  try {
    return { address, maxResults, signer: new Ed25519Signer(options.key, 'exchange') };
  } catch (err) {
    throw new CtopError('E_EXCHANGE_CONFIG', (err as Error).message, { cause: err });
  }
}

/** One persistent session (clean: false), so nothing sent while the exchange is down is lost. */
function mqttOptions(options: ExchangeOptions, protocolVersion: 4 | 5): IClientOptions {
  const tls = options.tls ? loadTlsFiles(options.tls, 'E_EXCHANGE_CONFIG') : undefined;
  return {
    clientId: options.clientId ?? 'ctop-exchange',
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    protocolVersion,
    clean: false,
    keepalive: options.keepaliveSeconds ?? 30,
    reconnectPeriod: options.reconnectPeriodMs ?? 500,
    connectTimeout: 10_000,
    resubscribe: false,
    ...mqttClientLog(),
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 7 * 86_400 } } : {}),
    ...(tls
      ? {
          ca: tls.ca,
          ...(tls.cert ? { cert: tls.cert } : {}),
          ...(tls.key ? { key: tls.key } : {}),
          rejectUnauthorized: true,
        }
      : {}),
  };
}

/**
 * Each connection subscribes again: harmless when the broker kept the session, required when
 * it did not. A session lost on a reconnection is logged (EXCHANGE.md §2.6).
 */
function resubscribeOnConnect(
  client: MqttClient,
  subscriptions: string[],
  log: Logger,
): (connack: IConnackPacket) => void {
  let connections = 0;
  return (connack) => {
    client.subscribe(subscriptions, { qos: 1 }, (err) => {
      if (err) log.error({ err: err.message }, 'exchange subscription failed');
    });
    if (connections++ > 0 && !connack.sessionPresent) {
      // What gateways published meanwhile went to no one; they resend after their receipt timeout.
      log.warn(
        "the broker had lost the exchange session: messages sent meanwhile come again with the gateways' resends",
      );
    } else log.info({ sessionPresent: connack.sessionPresent }, 'exchange connected');
  };
}

/** Resolves once the first connection subscribed to every upstream topic. */
function subscribed(client: MqttClient, subscriptions: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.once('connect', () => {
      client.subscribe(subscriptions, { qos: 1 }, (err) => {
        if (err)
          reject(new CtopError('E_EXCHANGE_CONFIG', `cannot subscribe: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  });
}

export type { ExchangeCounters, ExchangeFaults } from './counters.js';
