import type { MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';
import { CtopError, isCtopError } from '../errors.js';
import {
  assertSignedBy,
  type Ed25519Signer,
  MAX_QUERY_RECORDS,
  openQueryResult,
  QUERY_ACTIONS,
  type QueryRequest,
  type QueryResult,
  randomUrnUuid,
  signQuery,
} from '../exchange-wire/index.js';
import type { TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';

export interface DocumentQuery {
  manifestId?: string;
  container?: string;
  messageId?: string;
}

export interface UpdatesQuery {
  /** ms, inclusive. */
  since: number;
  /** ms, exclusive. */
  until: number;
  /** The previous answer's `next`. */
  after?: number;
  limit?: number;
}

export interface QueryClientOptions {
  signer: Ed25519Signer;
  trust: TrustStore;
  from: string;
  to: string;
  /** Where the gateway publishes queries and where the answers come back. */
  topics: { query: string; queryResult: string };
  timeoutMs: number;
  protocolVersion: 4 | 5;
  clock: Clock;
  log: Logger;
}

interface Pending {
  resolve: (result: QueryResult) => void;
  reject: (err: CtopError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Asks the exchange the two questions of EEC decision No. 124 over the gateway's `query`
 * and `query-result` topics, matching answers to questions by queryId. Answers must be
 * signed by a trusted exchange key; anything else is ignored, and the question times out.
 */
export class QueryClient {
  readonly #o: QueryClientOptions;
  readonly #pending = new Map<string, Pending>();
  #signer: Ed25519Signer;

  constructor(options: QueryClientOptions) {
    this.#o = options;
    this.#signer = options.signer;
  }

  /** Questions asked from now on are signed with `signer` (gateway key rotation). */
  useSigner(signer: Ed25519Signer): void {
    this.#signer = signer;
  }

  byDocument(client: MqttClient, query: DocumentQuery): Promise<QueryResult> {
    if (query.manifestId === undefined && query.container === undefined && query.messageId === undefined) {
      throw new CtopError(
        'E_USAGE',
        'a query by document needs a manifest id, a container number or a messageId',
      );
    }
    return this.#ask(client, {
      action: QUERY_ACTIONS.document,
      ...(query.manifestId === undefined ? {} : { manifestId: query.manifestId }),
      ...(query.container === undefined ? {} : { container: query.container }),
      ...(query.messageId === undefined ? {} : { messageId: query.messageId }),
    });
  }

  updates(client: MqttClient, query: UpdatesQuery): Promise<QueryResult> {
    if (!(query.until >= query.since)) throw new CtopError('E_USAGE', 'the period ends before it starts');
    if (query.limit !== undefined && (query.limit < 1 || query.limit > MAX_QUERY_RECORDS)) {
      throw new CtopError('E_USAGE', `limit must be 1 to ${MAX_QUERY_RECORDS}`);
    }
    return this.#ask(client, {
      action: QUERY_ACTIONS.updates,
      since: query.since,
      until: query.until,
      ...(query.after === undefined ? {} : { after: query.after }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
  }

  #ask(
    client: MqttClient,
    question: DistributiveOmit<QueryRequest, 'queryId' | 'from' | 'to' | 'replyTo' | 'sentAt'>,
  ) {
    const o = this.#o;
    const queryId = randomUrnUuid();
    const request = {
      ...question,
      queryId,
      from: o.from,
      to: o.to,
      replyTo: o.topics.queryResult,
      sentAt: o.clock.now(),
    } as QueryRequest;
    const bytes = signQuery(this.#signer, request);
    return new Promise<QueryResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(queryId);
        reject(
          new CtopError('E_SYNC_QUERY_TIMEOUT', `no answer to ${question.action} within ${o.timeoutMs} ms`),
        );
      }, o.timeoutMs);
      this.#pending.set(queryId, { resolve, reject, timer });
      client.publish(
        o.topics.query,
        bytes,
        {
          qos: 1,
          ...(o.protocolVersion === 5
            ? { properties: { responseTopic: o.topics.queryResult, correlationData: Buffer.from(queryId) } }
            : {}),
        },
        (err) => {
          if (!err) return;
          clearTimeout(timer);
          this.#pending.delete(queryId);
          reject(new CtopError('E_SYNC_OFFLINE', `query not sent: ${err.message}`, { cause: err }));
        },
      );
    });
  }

  /** An answer arrived on the query-result topic. */
  handle(bytes: Uint8Array): void {
    try {
      const { result, signed } = openQueryResult(bytes);
      assertSignedBy(signed, 'exchange', this.#o.clock.now(), this.#o.trust, 'query result');
      const pending = this.#pending.get(result.queryId);
      if (result.to !== this.#o.from) {
        this.#o.log.warn(
          { queryId: result.queryId, to: result.to },
          'query answer for another gateway ignored',
        );
        return;
      }
      if (!pending) {
        this.#o.log.debug({ queryId: result.queryId }, 'answer to a query nobody is waiting for');
        return;
      }
      this.#pending.delete(result.queryId);
      clearTimeout(pending.timer);
      if (result.status === 'refused') {
        pending.reject(
          new CtopError(
            'E_SYNC_QUERY_REFUSED',
            `the exchange refused the query: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`,
            {
              details: { reason: result.reason },
            },
          ),
        );
        return;
      }
      pending.resolve(result);
    } catch (err) {
      if (!isCtopError(err)) throw err;
      this.#o.log.warn(err.toLog(), `query answer ignored: ${err.message}`);
    }
  }

  /** Fails every open question (stop, or the connection it was asked on is gone). */
  failAll(err: CtopError): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.#pending.delete(id);
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
