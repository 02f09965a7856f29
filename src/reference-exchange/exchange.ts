import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { type Clock, systemClock } from '../clock.js';
import { CtopError } from '../errors.js';
import {
  ADDRESS_PATTERN,
  decodeStatus,
  Ed25519Signer,
  gatewayAddress,
  gatewayTopic,
  MAX_RECEIPT_RESULTS,
  type ParsedTopic,
  parseGatewayTopic,
  RECEIPT_ACTION,
  type ReceiptResult,
  signQueryResult,
  signReceipt,
  TOPIC_ROOT,
  UPSTREAM_TOPICS,
} from '../exchange-wire/index.js';
import type { PrivateKey, TrustStore } from '../keys/index.js';
import { type Logger, silentLogger } from '../log.js';
import { loadTlsFiles, type TlsFiles } from '../sync/config.js';
import { ExchangeDb } from './db.js';
import { judgeEnvelope, type Verdict } from './judge.js';
import { answerQuery } from './queries.js';

export interface ExchangeFaults {
  /** Fault injection for tests and demos: drop the receipt result for this message (it is still recorded). */
  dropReceipt?: (messageId: string) => boolean;
}

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
  /** Results per receipt when several messages of one gateway are answered together. Default 16. */
  maxReceiptResults?: number;
  log?: Logger;
  clock?: Clock;
  faults?: ExchangeFaults;
}

/** Running totals since start. */
export interface ExchangeCounters {
  /** Messages on upstream topics. */
  received: number;
  /** Accepted for the first time. */
  accepted: number;
  /** Accepted before: recorded once, answered again. */
  duplicates: number;
  rejected: number;
  /** No messageId could be read: no receipt possible. */
  unreadable: number;
  receiptsSent: number;
  receiptResultsDropped: number;
  queries: number;
}

export interface Exchange {
  readonly address: string;
  readonly db: ExchangeDb;
  readonly stats: ExchangeCounters;
  readonly connected: boolean;
  stop(): Promise<void>;
}

interface Incoming {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
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
  const clock = options.clock ?? systemClock;
  const address = options.address ?? 'CTOP://KZ/EXCHANGE';
  if (!ADDRESS_PATTERN.test(address))
    throw new CtopError('E_EXCHANGE_CONFIG', `address "${address}" must look like CTOP://KZ/EXCHANGE`);
  const maxResults = options.maxReceiptResults ?? 16;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RECEIPT_RESULTS) {
    throw new CtopError('E_EXCHANGE_CONFIG', `maxReceiptResults must be 1 to ${MAX_RECEIPT_RESULTS}`);
  }
  let signer: Ed25519Signer;
  try {
    signer = new Ed25519Signer(options.key, 'exchange');
  } catch (err) {
    throw new CtopError('E_EXCHANGE_CONFIG', (err as Error).message, { cause: err });
  }
  const trust = options.trust;
  const protocolVersion = options.protocolVersion ?? 5;
  const db = new ExchangeDb(options.dbPath);
  const stats: ExchangeCounters = {
    received: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    unreadable: 0,
    receiptsSent: 0,
    receiptResultsDropped: 0,
    queries: 0,
  };
  const tls = options.tls ? loadTlsFiles(options.tls, 'E_EXCHANGE_CONFIG') : undefined;
  const mqttOptions: IClientOptions = {
    clientId: options.clientId ?? 'ctop-exchange',
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    protocolVersion,
    clean: false,
    keepalive: options.keepaliveSeconds ?? 30,
    reconnectPeriod: options.reconnectPeriodMs ?? 500,
    connectTimeout: 10_000,
    resubscribe: false,
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
  const subscriptions = [...UPSTREAM_TOPICS, 'status'].map((level) => `${TOPIC_ROOT}/+/+/+/${level}`);
  const client: MqttClient = connect(options.brokerUrl, mqttOptions);
  let queue: Incoming[] = [];
  let scheduled = false;
  let stopped = false;

  client.on('error', (err) => log.warn({ err: err.message }, 'exchange connection error'));
  client.on('connect', (connack) => {
    // Subscribing again is harmless when the broker kept the session, and required when it did not.
    client.subscribe(subscriptions, { qos: 1 }, (err) => {
      if (err) log.error({ err: err.message }, 'exchange subscription failed');
    });
    log.info({ sessionPresent: connack.sessionPresent }, 'exchange connected');
  });
  client.on('message', (topic, payload, packet) => {
    queue.push({ topic, payload, packet });
    if (!scheduled) {
      scheduled = true;
      setImmediate(drainQueue);
    }
  });

  function drainQueue(): void {
    scheduled = false;
    if (stopped) return;
    const batch = queue.slice(0, 512);
    queue = queue.slice(batch.length);
    try {
      handleBatch(batch);
    } catch (err) {
      // The database failed: nothing of the batch was recorded or answered; the gateways resend.
      log.error({ err: (err as Error).message }, 'exchange batch failed');
    }
    if (queue.length > 0 && !scheduled) {
      scheduled = true;
      setImmediate(drainQueue);
    }
  }

  function handleBatch(batch: Incoming[]): void {
    const now = clock.now();
    const judged: { topic: ParsedTopic; bytes: Buffer; verdict: Verdict }[] = [];
    const queries: { topic: ParsedTopic; item: Incoming }[] = [];
    for (const item of batch) {
      const topic = parseGatewayTopic(item.topic);
      if (!topic) continue;
      if (topic.level === 'status') {
        recordStatus(topic, item.payload, now);
      } else if (topic.level === 'query') {
        queries.push({ topic, item });
      } else {
        stats.received++;
        const verdict = judgeEnvelope(
          item.payload,
          topic,
          { address, trust, now },
          (id) => db.get(id) !== undefined,
        );
        judged.push({ topic, bytes: item.payload, verdict });
      }
    }
    const receipts = new Map<string, { to: string; results: ReceiptResult[] }>();
    db.transaction(() => {
      for (const { topic, bytes, verdict } of judged) {
        const result = record(verdict, bytes, now);
        if (!result) continue;
        const receiptTopic = gatewayTopic(topic, 'receipt');
        let answer = receipts.get(receiptTopic);
        if (!answer) {
          answer = { to: gatewayAddress(topic), results: [] };
          receipts.set(receiptTopic, answer);
        }
        answer.results.push(result);
      }
    });
    for (const [receiptTopic, { to, results }] of receipts) sendReceipts(receiptTopic, to, results, now);
    for (const { topic, item } of queries) answer(topic, item, now);
  }

  /** Records a verdict; returns the receipt result, or undefined when nobody can be answered. */
  function record(verdict: Verdict, bytes: Buffer, now: number): ReceiptResult | undefined {
    if (verdict.outcome === 'unreadable') {
      stats.unreadable++;
      log.warn({ code: verdict.error.code }, `unreadable message dropped: ${verdict.error.message}`);
      return undefined;
    }
    const e = verdict.envelope;
    const base = { messageId: e.messageId, conversationId: e.conversationId, payloadSha256: e.payloadSha256 };
    if (verdict.outcome === 'rejected') {
      stats.rejected++;
      db.recordRejection({
        messageId: e.messageId,
        sender: e.from,
        kind: e.kind,
        receivedAt: now,
        reason: verdict.reason,
        detail: verdict.detail,
        payloadSha256: e.payloadSha256,
      });
      log.warn(
        { messageId: e.messageId, from: e.from, reason: verdict.reason },
        `rejected: ${verdict.detail}`,
      );
      return {
        ...base,
        status: 'rejected',
        reason: verdict.reason,
        detail: verdict.detail.slice(0, 500),
        receivedAt: now,
        duplicate: false,
      };
    }
    const known = db.get(e.messageId);
    if (known) {
      // The messageId is a hash of sender, kind and payload hash (checked): same id, same content.
      stats.duplicates++;
      db.countDuplicate(e.messageId, now);
      return {
        ...base,
        status: 'accepted',
        receivedAt: known.receivedAt,
        duplicate: true,
        ...(known.verification === undefined ? {} : { verification: known.verification }),
      };
    }
    stats.accepted++;
    db.insert({
      messageId: e.messageId,
      conversationId: e.conversationId,
      procedureId: e.procedureId,
      kind: e.kind,
      sender: e.from,
      gatewayKid: verdict.kid,
      sentAt: e.sentAt,
      receivedAt: now,
      payloadSha256: Buffer.from(e.payloadSha256),
      payloadSize: e.payload.byteLength,
      envelope: bytes,
      ...(verdict.manifestId === undefined ? {} : { manifestId: verdict.manifestId }),
      ...(verdict.container === undefined ? {} : { container: verdict.container }),
      ...(verdict.lockId === undefined ? {} : { lockId: verdict.lockId }),
      ...(verdict.verification === undefined ? {} : { verification: verdict.verification }),
    });
    if (verdict.outage) {
      db.recordOutage({ sender: e.from, messageId: e.messageId, ...verdict.outage });
      log.warn({ from: e.from, ...verdict.outage }, 'gateway reported an outage');
    }
    return {
      ...base,
      status: 'accepted',
      receivedAt: now,
      duplicate: false,
      ...(verdict.verification === undefined ? {} : { verification: verdict.verification }),
    };
  }

  function sendReceipts(topic: string, to: string, results: ReceiptResult[], now: number): void {
    const kept = results.filter((r) => {
      const drop = options.faults?.dropReceipt?.(r.messageId) === true;
      if (drop) stats.receiptResultsDropped++;
      return !drop;
    });
    for (let i = 0; i < kept.length; i += maxResults) {
      const bytes = signReceipt(signer, {
        action: RECEIPT_ACTION,
        from: address,
        to,
        issuedAt: now,
        results: kept.slice(i, i + maxResults),
      });
      stats.receiptsSent++;
      client.publish(topic, bytes, { qos: 1 });
    }
  }

  function answer(topic: ParsedTopic, item: Incoming, now: number): void {
    stats.queries++;
    const result = answerQuery(item.payload, topic, { db, trust, address, now });
    if (!result) {
      log.warn({ topic: item.topic }, 'unreadable query dropped');
      return;
    }
    const correlationData = item.packet.properties?.correlationData;
    client.publish(gatewayTopic(topic, 'query-result'), signQueryResult(signer, result), {
      qos: 1,
      ...(protocolVersion === 5 && correlationData ? { properties: { correlationData } } : {}),
    });
  }

  function recordStatus(topic: ParsedTopic, payload: Buffer, now: number): void {
    if (payload.byteLength === 0) return;
    try {
      const status = decodeStatus(payload);
      db.recordStatus(gatewayAddress(topic), status.state, status.at, now);
    } catch (err) {
      log.debug({ err: (err as Error).message, topic: topic.gatewayId }, 'unreadable gateway status');
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onConnect = () => {
      client.subscribe(subscriptions, { qos: 1 }, (err) => {
        if (err)
          reject(new CtopError('E_EXCHANGE_CONFIG', `cannot subscribe: ${err.message}`, { cause: err }));
        else resolve();
      });
    };
    client.once('connect', onConnect);
  });
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
        while (queue.length > 0) handleBatch(queue.splice(0, 512));
      } catch (err) {
        log.error({ err: (err as Error).message }, 'exchange batch failed while stopping');
      }
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      db.close();
    },
  };
}
