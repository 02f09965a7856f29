import fc from 'fast-check';
import {
  CONTENT_TYPES,
  type ContentType,
  decodeStatus,
  encodeStatus,
  openQuery,
  openQueryResult,
  openReceipt,
  QUERY_ACTIONS,
  QUERY_RESULT_ACTION,
  RECEIPT_ACTION,
  signMessage,
  signQuery,
  signQueryResult,
  signReceipt,
  verifyReceipt,
} from '../../../src/exchange-wire/index.js';
import { randomUrnUuid } from '../../../src/exchange-wire/uuid.js';
import { checkEqual, expectTyped } from '../lib/expect.js';
import { mutatedBytes } from '../lib/mutate-bytes.js';
import { applyTreeMutations, decodeTree, encodeTree, treeMutation, wordsOf } from '../lib/mutate-cbor.js';
import type { FuzzTarget } from '../lib/target.js';
import { EXCHANGE_ADDRESS, GATEWAY_ADDRESS, syncFuzzWorld } from './sync-world.js';

type Kind = 'receipt' | 'query' | 'query-result' | 'status';

interface DownstreamCase {
  kind: Kind;
  bytes: Uint8Array;
}

const SYNC_ERRORS = /^E_SYNC_(MALFORMED|SIGNATURE)$/;
const CONTENT: Record<Exclude<Kind, 'status'>, ContentType> = {
  receipt: CONTENT_TYPES.receipt,
  query: CONTENT_TYPES.query,
  'query-result': CONTENT_TYPES.queryResult,
};

/**
 * What the gateway reads from the exchange and the exchange reads besides envelopes
 * (src/exchange-wire/): receipts, queries, query results and the retained status, mutated
 * as bytes and as bodies re-signed with the right key. Asserts: verifyReceipt, openQuery,
 * openQueryResult and decodeStatus throw only E_SYNC_MALFORMED / E_SYNC_SIGNATURE; an
 * opened receipt survives sign → open unchanged.
 */
export const receiptTarget: FuzzTarget<DownstreamCase> = {
  name: 'receipt',
  description:
    'receipt, query, query result and status decoding (verifyReceipt, openQuery, openQueryResult, decodeStatus)',
  setup() {
    const world = syncFuzzWorld();
    const sha = Buffer.alloc(32, 7);
    const result = (status: 'accepted' | 'rejected', i: number) => ({
      messageId: randomUrnUuid(),
      conversationId: randomUrnUuid(),
      payloadSha256: sha,
      status,
      ...(status === 'rejected' ? { reason: 'manifest_bad_signature', detail: `row ${i}` } : {}),
      receivedAt: 1_767_225_600_000 + i,
      duplicate: i % 2 === 1,
      ...(status === 'accepted' ? { verification: 'valid' } : {}),
    });
    const seeds: DownstreamCase[] = [
      ...[1, 3].map((n) => ({
        kind: 'receipt' as const,
        bytes: signReceipt(world.exchange, {
          action: RECEIPT_ACTION,
          from: EXCHANGE_ADDRESS,
          to: GATEWAY_ADDRESS,
          issuedAt: 1_767_225_600_000,
          results: Array.from({ length: n }, (_, i) => result(i === 1 ? 'rejected' : 'accepted', i)),
        }),
      })),
      {
        kind: 'query',
        bytes: signQuery(world.gateway, {
          queryId: randomUrnUuid(),
          from: GATEWAY_ADDRESS,
          to: EXCHANGE_ADDRESS,
          replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/query-result',
          sentAt: 1_767_225_600_000,
          action: QUERY_ACTIONS.document,
          container: 'MSKU4002711',
        }),
      },
      {
        kind: 'query',
        bytes: signQuery(world.gateway, {
          queryId: randomUrnUuid(),
          from: GATEWAY_ADDRESS,
          to: EXCHANGE_ADDRESS,
          replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/query-result',
          sentAt: 1_767_225_600_000,
          action: QUERY_ACTIONS.updates,
          since: 1_767_225_000_000,
          until: 1_767_229_200_000,
          limit: 100,
        }),
      },
      {
        kind: 'query-result',
        bytes: signQueryResult(world.exchange, {
          action: QUERY_RESULT_ACTION,
          queryId: randomUrnUuid(),
          from: EXCHANGE_ADDRESS,
          to: GATEWAY_ADDRESS,
          issuedAt: 1_767_225_600_000,
          status: 'ok',
          records: [
            {
              seq: 1,
              messageId: randomUrnUuid(),
              conversationId: randomUrnUuid(),
              procedureId: randomUrnUuid(),
              kind: 'manifest',
              from: GATEWAY_ADDRESS,
              sentAt: 1_767_225_600_000,
              receivedAt: 1_767_225_600_100,
              payloadSha256: sha,
              payloadSize: 1005,
              manifestId: sha.toString('hex'),
              container: 'MSKU4002711',
              verification: 'valid',
              duplicates: 0,
            },
          ],
          next: 2,
        }),
      },
      {
        kind: 'status',
        bytes: encodeStatus({
          state: 'online',
          from: GATEWAY_ADDRESS,
          at: 1_767_225_600_000,
          backlog: 3,
          reason: 'connected',
        }),
      },
    ];
    const signedBy = (kind: Kind) => (kind === 'query' ? world.gateway : world.exchange);
    const bodies = seeds.map((s) => (s.kind === 'status' ? s.bytes : openBody(s)));
    const trees = bodies.map(decodeTree);
    const words = wordsOf(trees);
    const index = fc.nat(seeds.length - 1);
    const byBytes = index.chain((i) =>
      mutatedBytes([seeds[i]!.bytes]).map((bytes) => ({ kind: seeds[i]!.kind, bytes })),
    );
    const byBody = fc
      .tuple(index, fc.array(treeMutation(words), { minLength: 1, maxLength: 2 }))
      .map(([i, m]) => {
        const { kind } = seeds[i]!;
        const tree = applyTreeMutations(trees[i], m);
        const encoded = encodeTree(tree);
        // No canonical encoding (an integer past 64 bits): nothing to sign, the seed stands in.
        if (kind === 'status' || encoded === undefined) return { kind, bytes: encoded ?? seeds[i]!.bytes };
        return { kind, bytes: signMessage(signedBy(kind), CONTENT[kind], tree) };
      });
    return {
      arbitrary: fc.oneof({ weight: 2, arbitrary: byBytes }, { weight: 3, arbitrary: byBody }),
      record: ({ kind, bytes }) => Buffer.concat([Buffer.from(`${kind}\n`), bytes]),
      check({ kind, bytes }) {
        switch (kind) {
          case 'receipt': {
            const opened = expectTyped('verifyReceipt', SYNC_ERRORS, () =>
              verifyReceipt(bytes, world.gatewayTrust, Date.now()),
            );
            if (!opened.ok) return `receipt ${opened.code}`;
            const { receipt } = opened.value;
            checkEqual(
              openReceipt(signReceipt(world.exchange, receipt)).receipt,
              receipt,
              'an opened receipt changed through sign → open',
            );
            return 'receipt ok';
          }
          case 'query': {
            const opened = expectTyped('openQuery', SYNC_ERRORS, () => openQuery(bytes));
            return opened.ok ? 'query ok' : `query ${opened.code}`;
          }
          case 'query-result': {
            const opened = expectTyped('openQueryResult', SYNC_ERRORS, () => openQueryResult(bytes));
            return opened.ok ? 'query-result ok' : `query-result ${opened.code}`;
          }
          case 'status': {
            const decoded = expectTyped('decodeStatus', SYNC_ERRORS, () => decodeStatus(bytes));
            return decoded.ok ? 'status ok' : `status ${decoded.code}`;
          }
        }
      },
    };
  },
};

function openBody(seed: DownstreamCase): Uint8Array {
  switch (seed.kind) {
    case 'receipt':
      return openReceipt(seed.bytes).signed.bodyBytes;
    case 'query':
      return openQuery(seed.bytes).signed.bodyBytes;
    default:
      return openQueryResult(seed.bytes).signed.bodyBytes;
  }
}
