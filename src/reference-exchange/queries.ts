import { isCtopError } from '../errors.js';
import {
  gatewayAddress,
  kidBelongsTo,
  MAX_QUERY_RECORDS,
  openQuery,
  type ParsedTopic,
  QUERY_ACTIONS,
  QUERY_RESULT_ACTION,
  type QueryResult,
  toBeSigned,
  verifySigned,
} from '../exchange-wire/index.js';
import type { TrustStore } from '../keys/index.js';
import { type ExchangeDb, toQueryRecord } from './db.js';
import { KEY_REASONS } from './judge.js';

export interface QueryContext {
  db: ExchangeDb;
  trust: TrustStore;
  address: string;
  now: number;
}

/**
 * Answers the two queries of EEC decision No. 124 (EXCHANGE.md §6). The asker must sign
 * with its gateway key and ask from its own subtree. "By document" answers about every
 * gateway's messages for that manifest / container / message (a border checkpoint checks
 * the loading yard's record reached the exchange); "updates for a period" answers about
 * the asker's own messages. Metadata only: payloads never leave the exchange this way.
 * Returns undefined when the question cannot even be read (nobody to answer).
 */
export function answerQuery(
  bytes: Uint8Array,
  topic: ParsedTopic,
  ctx: QueryContext,
): QueryResult | undefined {
  let opened: ReturnType<typeof openQuery>;
  try {
    opened = openQuery(bytes);
  } catch (err) {
    if (!isCtopError(err)) throw err;
    return undefined;
  }
  const { query, signed } = opened;
  const asker = gatewayAddress(topic);
  const base = {
    action: QUERY_RESULT_ACTION as typeof QUERY_RESULT_ACTION,
    queryId: query.queryId,
    from: ctx.address,
    to: asker,
    issuedAt: ctx.now,
  };
  const refuse = (reason: string, detail: string): QueryResult => ({
    ...base,
    status: 'refused',
    reason,
    detail,
    records: [],
  });
  if (query.from !== asker) return refuse('address_mismatch', `from ${query.from} on the topic of ${asker}`);
  const check = verifySigned(ctx.trust, {
    kid: signed.kid,
    role: 'gateway',
    message: toBeSigned(signed),
    signature: signed.signature,
    signedAt: ctx.now,
  });
  if (check.status !== 'valid') return refuse(KEY_REASONS[check.status], check.detail ?? check.status);
  if (!kidBelongsTo(signed.kid, topic.gatewayId))
    return refuse('key_mismatch', `key ${signed.kid} is not ${topic.gatewayId}'s`);

  if (query.action === QUERY_ACTIONS.document) {
    const found = ctx.db.byDocument(query, MAX_QUERY_RECORDS);
    return { ...base, status: 'ok', records: found.map(toQueryRecord) };
  }
  const limit = query.limit ?? MAX_QUERY_RECORDS;
  const rows = ctx.db.updates(asker, query.since, query.until, query.after ?? 0, limit + 1);
  const page = rows.slice(0, limit);
  return {
    ...base,
    status: 'ok',
    records: page.map(toQueryRecord),
    ...(rows.length > limit ? { next: page.at(-1)!.seq } : {}),
  };
}
