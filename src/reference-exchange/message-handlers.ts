import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';
import {
  decodeStatus,
  type Ed25519Signer,
  gatewayAddress,
  gatewayTopic,
  type ParsedTopic,
  parseGatewayTopic,
  RECEIPT_ACTION,
  type ReceiptResult,
  signQueryResult,
  signReceipt,
} from '../exchange-wire/index.js';
import type { TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import type { ExchangeCounters, ExchangeFaults } from './counters.js';
import type { ExchangeDb } from './db.js';
import { judgeOpened, openForJudging, type Verdict } from './judge.js';
import { answerQuery } from './queries.js';
import { recordVerdict } from './record-verdict.js';

/** One MQTT message as it arrived. */
export interface Incoming {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

export interface ExchangeParts {
  client: MqttClient;
  db: ExchangeDb;
  trust: TrustStore;
  signer: Ed25519Signer;
  address: string;
  protocolVersion: 4 | 5;
  /** Results per receipt. */
  maxResults: number;
  stats: ExchangeCounters;
  log: Logger;
  clock: Clock;
  faults?: ExchangeFaults;
}

interface JudgedEnvelope {
  topic: ParsedTopic;
  bytes: Buffer;
  verdict: Verdict;
  /** The judge found its messageId stored (before this batch's transaction). */
  storedBefore: boolean;
}

/**
 * The reference exchange's handling of one batch of messages, one handler per kind of
 * message: a gateway's status (retained presence), a query (answered at once), and an
 * envelope on an upstream topic (judged, recorded in the batch's one transaction, and
 * answered with one receipt per gateway).
 */
export class ExchangeHandlers {
  readonly #p: ExchangeParts;

  constructor(parts: ExchangeParts) {
    this.#p = parts;
  }

  handleBatch(batch: Incoming[]): void {
    const now = this.#p.clock.now();
    const opened: { topic: ParsedTopic; bytes: Buffer; head: ReturnType<typeof openForJudging> }[] = [];
    const queries: { topic: ParsedTopic; item: Incoming }[] = [];
    for (const item of batch) {
      const topic = parseGatewayTopic(item.topic);
      if (!topic) continue;
      if (topic.level === 'status') this.#onStatus(topic, item.payload, now);
      else if (topic.level === 'query') queries.push({ topic, item });
      else {
        this.#p.stats.received++;
        opened.push({ topic, bytes: item.payload, head: openForJudging(item.payload) });
      }
    }
    // Which messages were stored before: one lookup for the batch, not one per message.
    const storedBefore = this.#p.db.known(
      opened.flatMap(({ head }) => ('outcome' in head ? [] : [head.messageId])),
    );
    const envelopes = opened.map(({ topic, bytes, head }) =>
      this.#judge(topic, bytes, head, storedBefore, now),
    );
    const receipts = this.#record(envelopes, now);
    for (const [receiptTopic, { to, results }] of receipts)
      this.#sendReceipts(receiptTopic, to, results, now);
    for (const { topic, item } of queries) this.#onQuery(topic, item, now);
  }

  /** A gateway's retained status (online, offline): recorded when readable. */
  #onStatus(topic: ParsedTopic, payload: Buffer, now: number): void {
    if (payload.byteLength === 0) return;
    try {
      const status = decodeStatus(payload);
      this.#p.db.recordStatus(gatewayAddress(topic), status.state, status.at, now);
    } catch (err) {
      this.#p.log.debug({ err: (err as Error).message, topic: topic.gatewayId }, 'unreadable gateway status');
    }
  }

  /** An envelope on an upstream topic: judged now, recorded with the batch. */
  #judge(
    topic: ParsedTopic,
    bytes: Buffer,
    head: ReturnType<typeof openForJudging>,
    stored: Set<string>,
    now: number,
  ): JudgedEnvelope {
    if ('outcome' in head) return { topic, bytes, verdict: head, storedBefore: false };
    const { trust, address } = this.#p;
    const storedBefore = stored.has(head.messageId);
    const verdict = judgeOpened(head, topic, { address, trust, now }, () => storedBefore);
    return { topic, bytes, verdict, storedBefore };
  }

  /** A query of decision No. 124, answered signed on the gateway's query-result topic. */
  #onQuery(topic: ParsedTopic, item: Incoming, now: number): void {
    const { db, trust, address, stats, client, signer, protocolVersion, log } = this.#p;
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

  /** Records the batch's envelopes in one transaction; the receipt results by receipt topic. */
  #record(envelopes: JudgedEnvelope[], now: number): Map<string, { to: string; results: ReceiptResult[] }> {
    const { db, stats, log } = this.#p;
    const receipts = new Map<string, { to: string; results: ReceiptResult[] }>();
    // What the judge did not find stored can only have been stored since by this batch.
    const storedInBatch = new Set<string>();
    db.transaction(() => {
      for (const { topic, bytes, verdict, storedBefore } of envelopes) {
        const id = verdict.outcome === 'accepted' ? verdict.envelope.messageId : undefined;
        const mayBeStored = id !== undefined && (storedBefore || storedInBatch.has(id));
        const result = recordVerdict(db, verdict, topic, bytes, now, stats, log, mayBeStored);
        if (id !== undefined) storedInBatch.add(id);
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
    return receipts;
  }

  #sendReceipts(topic: string, to: string, results: ReceiptResult[], now: number): void {
    const { faults, stats, signer, address, maxResults, client } = this.#p;
    const kept = results.filter((r) => {
      const drop = faults?.dropReceipt?.(r.messageId) === true;
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
}
