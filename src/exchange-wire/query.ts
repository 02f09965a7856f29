import { CtopError } from '../errors.js';
import type { KeyRole, TrustStore } from '../keys/index.js';
import { ADDRESS_PATTERN } from './address.js';
import { type Ed25519Signer, verifySigned } from './ed25519.js';
import { FieldReader } from './fields.js';
import { MESSAGE_KINDS, type MessageKind } from './message-kinds.js';
import { REASON_PATTERN } from './receipt.js';
import {
  CONTENT_TYPES,
  decodeBody,
  openMessage,
  type SignedMessage,
  signMessage,
  toBeSigned,
} from './signed.js';
import { URN_UUID_PATTERN } from './uuid.js';

/**
 * The two queries of EEC decision No. 124 (EXCHANGE.md §6): "by document" (what the
 * exchange holds about one manifest, container or message, from any gateway) and
 * "updates for a period" (what it recorded from the asking gateway in a time window —
 * the reconciliation after an outage). Answers carry metadata only, never payloads.
 */
export const QUERY_ACTIONS = {
  document: 'ctop/v1/query.document',
  updates: 'ctop/v1/query.updates',
} as const;
export const QUERY_RESULT_ACTION = 'ctop/v1/query.result';
/** Most records one answer carries; `next` pages on. */
export const MAX_QUERY_RECORDS = 500;

const MANIFEST_ID_PATTERN = /^[0-9a-f]{64}$/;
const CONTAINER_PATTERN = /^[A-Z]{4}[0-9]{7}$/;
const TOPIC_PATTERN = /^ctop\/v1(\/[A-Za-z0-9._-]+){4}$/;

export type QueryRequest = {
  queryId: string;
  from: string;
  to: string;
  /** The topic the answer is expected on (the gateway's `query-result` topic). */
  replyTo: string;
  sentAt: number;
} & (
  | { action: typeof QUERY_ACTIONS.document; manifestId?: string; container?: string; messageId?: string }
  | {
      action: typeof QUERY_ACTIONS.updates;
      /** Received at or after, ms. */
      since: number;
      /** Received before, ms. */
      until: number;
      /** Continue after this sequence number (the previous answer's `next`). */
      after?: number;
      limit?: number;
    }
);

/** What the exchange recorded about one message. */
export interface QueryRecord {
  /** The exchange's own order of reception. */
  seq: number;
  messageId: string;
  conversationId: string;
  procedureId: string;
  kind: MessageKind;
  /** The sending gateway's address. */
  from: string;
  sentAt: number;
  receivedAt: number;
  payloadSha256: Uint8Array;
  payloadSize: number;
  manifestId?: string;
  container?: string;
  lockId?: string;
  /** Manifests: the exchange's verification of the customs signature. */
  verification?: string;
  /** How many further copies of the message arrived (resends). */
  duplicates: number;
}

export interface QueryResult {
  action: typeof QUERY_RESULT_ACTION;
  queryId: string;
  from: string;
  to: string;
  issuedAt: number;
  status: 'ok' | 'refused';
  reason?: string;
  detail?: string;
  records: QueryRecord[];
  /** More records follow: ask again with `after: next`. */
  next?: number;
}

export function signQuery(signer: Ed25519Signer, query: QueryRequest): Buffer {
  return signMessage(signer, CONTENT_TYPES.query, query);
}

export function signQueryResult(signer: Ed25519Signer, result: QueryResult): Buffer {
  return signMessage(signer, CONTENT_TYPES.queryResult, result);
}

export interface OpenedQuery {
  query: QueryRequest;
  signed: SignedMessage;
}

export function openQuery(bytes: Uint8Array): OpenedQuery {
  const signed = openMessage(bytes, CONTENT_TYPES.query);
  const r = new FieldReader(decodeBody(signed, { maxDepth: 1, maxMapSize: 32, maxTextBytes: 256 }), 'query');
  const base = {
    queryId: r.text('queryId', { max: 45, pattern: URN_UUID_PATTERN }),
    from: r.text('from', { max: 256, pattern: ADDRESS_PATTERN }),
    to: r.text('to', { max: 256, pattern: ADDRESS_PATTERN }),
    replyTo: r.text('replyTo', { max: 256, pattern: TOPIC_PATTERN }),
    sentAt: r.uint('sentAt'),
  };
  const action = r.oneOf('action', [QUERY_ACTIONS.document, QUERY_ACTIONS.updates]);
  if (action === QUERY_ACTIONS.document) {
    const manifestId = r.optionalText('manifestId', { max: 64, pattern: MANIFEST_ID_PATTERN });
    const container = r.optionalText('container', { max: 11, pattern: CONTAINER_PATTERN });
    const messageId = r.optionalText('messageId', { max: 45, pattern: URN_UUID_PATTERN });
    if (manifestId === undefined && container === undefined && messageId === undefined) {
      r.fail('manifestId', 'or container or messageId is required');
    }
    return {
      signed,
      query: {
        ...base,
        action,
        ...(manifestId === undefined ? {} : { manifestId }),
        ...(container === undefined ? {} : { container }),
        ...(messageId === undefined ? {} : { messageId }),
      },
    };
  }
  const since = r.uint('since');
  const until = r.uint('until');
  if (until < since) r.fail('until', 'is before since');
  const after = r.optionalUint('after');
  const limit = r.optionalUint('limit');
  if (limit !== undefined && (limit < 1 || limit > MAX_QUERY_RECORDS))
    r.fail('limit', `must be 1 to ${MAX_QUERY_RECORDS}`);
  return {
    signed,
    query: {
      ...base,
      action,
      since,
      until,
      ...(after === undefined ? {} : { after }),
      ...(limit === undefined ? {} : { limit }),
    },
  };
}

export interface OpenedQueryResult {
  result: QueryResult;
  signed: SignedMessage;
}

export function openQueryResult(bytes: Uint8Array): OpenedQueryResult {
  const signed = openMessage(bytes, CONTENT_TYPES.queryResult);
  const body = decodeBody(signed, {
    maxDepth: 3,
    maxMapSize: 32,
    maxTextBytes: 1024,
    maxArrayLength: MAX_QUERY_RECORDS,
  });
  const r = new FieldReader(body, 'query result');
  const action = r.text('action', { max: 64 });
  if (action !== QUERY_RESULT_ACTION) r.fail('action', `must be "${QUERY_RESULT_ACTION}"`);
  const status = r.oneOf('status', ['ok', 'refused'] as const);
  const reason = r.optionalText('reason', { max: 48, pattern: REASON_PATTERN });
  if (status === 'refused' && reason === undefined) r.fail('reason', 'is required when refused');
  const detail = r.optionalText('detail', { max: 512 });
  const next = r.optionalUint('next');
  return {
    signed,
    result: {
      action: QUERY_RESULT_ACTION,
      queryId: r.text('queryId', { max: 45, pattern: URN_UUID_PATTERN }),
      from: r.text('from', { max: 256, pattern: ADDRESS_PATTERN }),
      to: r.text('to', { max: 256, pattern: ADDRESS_PATTERN }),
      issuedAt: r.uint('issuedAt'),
      status,
      ...(reason === undefined ? {} : { reason }),
      ...(detail === undefined ? {} : { detail }),
      records: r.array('records', MAX_QUERY_RECORDS).map((x, i) => readRecord(x, i)),
      ...(next === undefined ? {} : { next }),
    },
  };
}

function readRecord(item: unknown, i: number): QueryRecord {
  const r = new FieldReader(item, `query result records[${i}]`);
  const manifestId = r.optionalText('manifestId', { max: 64, pattern: MANIFEST_ID_PATTERN });
  const container = r.optionalText('container', { max: 11 });
  const lockId = r.optionalText('lockId', { max: 64 });
  const verification = r.optionalText('verification', { max: 32, pattern: REASON_PATTERN });
  return {
    seq: r.uint('seq'),
    messageId: r.text('messageId', { max: 45, pattern: URN_UUID_PATTERN }),
    conversationId: r.text('conversationId', { max: 45, pattern: URN_UUID_PATTERN }),
    procedureId: r.text('procedureId', { max: 45, pattern: URN_UUID_PATTERN }),
    kind: r.oneOf('kind', MESSAGE_KINDS),
    from: r.text('from', { max: 256, pattern: ADDRESS_PATTERN }),
    sentAt: r.uint('sentAt'),
    receivedAt: r.uint('receivedAt'),
    payloadSha256: r.bytes('payloadSha256', 32),
    payloadSize: r.uint('payloadSize'),
    ...(manifestId === undefined ? {} : { manifestId }),
    ...(container === undefined ? {} : { container }),
    ...(lockId === undefined ? {} : { lockId }),
    ...(verification === undefined ? {} : { verification }),
    duplicates: r.uint('duplicates'),
  };
}

/**
 * Verifies the signature of an opened query or answer: the signer must be a trusted key of
 * `role`, valid at `receivedAt` — the receiver's own clock at reception, never a time the
 * message carries (EXCHANGE.md §3).
 */
export function assertSignedBy(
  signed: SignedMessage,
  role: KeyRole,
  receivedAt: number,
  trust: TrustStore,
  what: string,
): void {
  const check = verifySigned(trust, {
    kid: signed.kid,
    role,
    message: toBeSigned(signed),
    signature: signed.signature,
    signedAt: receivedAt,
  });
  if (check.status !== 'valid') {
    throw new CtopError(
      'E_SYNC_SIGNATURE',
      `${what} from key ${signed.kid}: ${check.status} (${check.detail})`,
      {
        details: { kid: signed.kid, status: check.status },
      },
    );
  }
}
