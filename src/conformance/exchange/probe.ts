import { EventEmitter } from 'node:events';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { CtopError, isCtopError } from '../../errors.js';
import {
  type Ed25519Signer,
  type GatewayIdentity,
  type GatewayTopic,
  gatewayAddress,
  gatewayTopic,
  openQueryResult,
  type QueryRequest,
  type QueryResult,
  type ReceiptResult,
  randomUrnUuid,
  signQuery,
  verifyReceipt,
} from '../../exchange-wire/index.js';
import { assertSignedBy } from '../../exchange-wire/query.js';
import type { TrustStore } from '../../keys/index.js';
import { loadTlsFiles, type TlsFiles } from '../../sync/config.js';

/**
 * The conformance kit's gateway side: one MQTT connection in a gateway's subtree that
 * publishes what the checks build, and keeps every receipt and answer that comes back —
 * verified as a gateway verifies them (EXCHANGE.md §5.1: exchange key valid at reception,
 * addressed to this gateway). Receipts that fail that are kept apart as evidence.
 */

export interface ProbeOptions {
  brokerUrl: string;
  tls?: TlsFiles;
  protocolVersion: 4 | 5;
  identity: GatewayIdentity;
  /** The exchange key(s) receipts and answers must be signed with. */
  exchangeTrust: TrustStore;
  /** Password login (EXCHANGE.md §2.5): the user name, normally the gateway id. */
  username?: string;
  password?: Buffer;
}

/** One result of a receipt, as this gateway received it. */
export interface ObservedResult {
  result: ReceiptResult;
  /** Our clock at reception, ms. */
  at: number;
  issuedAt: number;
  kid: string;
  /** Handed to a check already (a copy's answer is used once). */
  taken: boolean;
}

export interface ObservedAnswer {
  result: QueryResult;
  /** The answer body's CBOR as received: "metadata only" is checked on it. */
  bodyBytes: Uint8Array;
  at: number;
}

export class ProbeGateway {
  readonly identity: GatewayIdentity;
  readonly address: string;
  readonly results: ObservedResult[] = [];
  /** Receipts that failed §5.1 rules 1–3 (decoding, key, address), with why. */
  readonly badReceipts: string[] = [];
  readonly #answers = new Map<string, ObservedAnswer>();
  readonly #client: MqttClient;
  readonly #trust: TrustStore;
  readonly #events = new EventEmitter();

  private constructor(client: MqttClient, options: ProbeOptions) {
    this.#client = client;
    this.#trust = options.exchangeTrust;
    this.identity = options.identity;
    this.address = gatewayAddress(options.identity);
    this.#events.setMaxListeners(0);
    client.on('message', (topic, payload) => {
      if (topic === this.topic('receipt')) this.#onReceipt(payload);
      else if (topic === this.topic('query-result')) this.#onAnswer(payload);
    });
  }

  static async connect(options: ProbeOptions): Promise<ProbeGateway> {
    const tls = options.tls ? loadTlsFiles(options.tls) : undefined;
    const mqttOptions: IClientOptions = {
      // A gateway's client id is its gateway id (EXCHANGE.md §2.1).
      clientId: options.identity.gatewayId,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      protocolVersion: options.protocolVersion,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(tls
        ? {
            ca: tls.ca,
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
            rejectUnauthorized: true,
          }
        : {}),
    };
    let client: MqttClient;
    try {
      client = await connectAsync(options.brokerUrl, mqttOptions);
    } catch (err) {
      throw new CtopError(
        'E_SYNC_CONFIG',
        `cannot connect to ${options.brokerUrl}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const probe = new ProbeGateway(client, options);
    const granted = await client.subscribeAsync([probe.topic('receipt'), probe.topic('query-result')], {
      qos: 1,
    });
    const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
    if (refused.length > 0) {
      await client.endAsync();
      throw new CtopError(
        'E_SYNC_CONFIG',
        `the broker refused the subscription to ${refused.join(', ')} (ACL?)`,
      );
    }
    return probe;
  }

  topic(level: GatewayTopic): string {
    return gatewayTopic(this.identity, level);
  }

  /** Publishes with QoS 1 on one of this gateway's levels, or on `topic` as given; resolves at PUBACK. */
  async publish(level: GatewayTopic | { topic: string }, bytes: Uint8Array): Promise<number> {
    const topic = typeof level === 'string' ? this.topic(level) : level.topic;
    const at = Date.now();
    await this.#client.publishAsync(topic, Buffer.from(bytes), { qos: 1 });
    return at;
  }

  /** Subscribes to another topic (another gateway's receipts, where a broker without ACL allows it). */
  async listen(topic: string, onMessage: (bytes: Buffer) => void): Promise<void> {
    this.#client.on('message', (t, payload) => {
      if (t === topic) onMessage(payload);
    });
    await this.#client.subscribeAsync(topic, { qos: 1 });
  }

  /**
   * The next result for `messageId` not yet taken — the one for the copy whose SHA-256 is
   * `envelopeSha256` when the exchange names copies (v1.1) — or undefined after `timeoutMs`.
   */
  nextResult(
    messageId: string,
    envelopeSha256: Uint8Array,
    timeoutMs: number,
  ): Promise<ObservedResult | undefined> {
    const find = () =>
      this.results.find(
        (o) =>
          !o.taken &&
          o.result.messageId === messageId &&
          (o.result.envelopeSha256 === undefined ||
            Buffer.from(o.result.envelopeSha256).equals(envelopeSha256)),
      );
    return this.#await(find, timeoutMs, (o) => {
      o.taken = true;
    });
  }

  /** Every result seen for `messageId`, taken or not. */
  resultsFor(messageId: string): ObservedResult[] {
    return this.results.filter((o) => o.result.messageId === messageId);
  }

  /** Asks a question signed by `signer` and waits for its answer (undefined after `timeoutMs`). */
  async ask(
    signer: Ed25519Signer,
    question: Record<string, unknown> & { action: QueryRequest['action'] },
    exchangeAddress: string,
    timeoutMs: number,
  ): Promise<{ queryId: string; answer: ObservedAnswer | undefined }> {
    const queryId = randomUrnUuid();
    const bytes = signQuery(signer, {
      queryId,
      from: this.address,
      to: exchangeAddress,
      replyTo: this.topic('query-result'),
      sentAt: Date.now(),
      ...question,
    } as QueryRequest);
    await this.publish('query', bytes);
    const answer = await this.#await(() => this.#answers.get(queryId), timeoutMs);
    return { queryId, answer };
  }

  async close(): Promise<void> {
    await this.#client.endAsync();
  }

  #await<T>(find: () => T | undefined, timeoutMs: number, take?: (found: T) => void): Promise<T | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        const found = find();
        if (found === undefined) return false;
        take?.(found);
        done(found);
        return true;
      };
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        this.#events.off('arrived', check);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      if (!check()) this.#events.on('arrived', check);
    });
  }

  #onReceipt(bytes: Buffer): void {
    const at = Date.now();
    try {
      const { receipt, signed } = verifyReceipt(bytes, this.#trust, at);
      if (receipt.to !== this.address) {
        this.badReceipts.push(`a receipt on our topic addressed to ${receipt.to}`);
        return;
      }
      for (const result of receipt.results) {
        this.results.push({ result, at, issuedAt: receipt.issuedAt, kid: signed.kid, taken: false });
      }
      this.#events.emit('arrived');
    } catch (err) {
      if (!isCtopError(err)) throw err;
      this.badReceipts.push(`${err.code}: ${err.message}`);
    }
  }

  #onAnswer(bytes: Buffer): void {
    const at = Date.now();
    try {
      const { result, signed } = openQueryResult(bytes);
      assertSignedBy(signed, 'exchange', at, this.#trust, 'query result');
      if (result.to !== this.address) return;
      this.#answers.set(result.queryId, { result, bodyBytes: signed.bodyBytes, at });
      this.#events.emit('arrived');
    } catch (err) {
      if (!isCtopError(err)) throw err;
      this.badReceipts.push(`query answer: ${err.code}: ${err.message}`);
    }
  }
}
