import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CONTENT_TYPES,
  decodeOutageReport,
  MESSAGE_KINDS,
  type MessageKind,
  openEnvelope,
  openEnvelopeHead,
  payloadMatches,
  sealEnvelope,
  signMessage,
} from '../../../src/exchange-wire/index.js';
import { judgeEnvelope } from '../../../src/reference-exchange/index.js';
import { REJECTION_REASONS } from '../../../src/reference-exchange/judge.js';
import { check, checkEqual, describe, expectTyped, FuzzFinding } from '../lib/expect.js';
import { mutatedBytes } from '../lib/mutate-bytes.js';
import { applyTreeMutations, decodeTree, encodeTree, treeMutation, wordsOf } from '../lib/mutate-cbor.js';
import type { FuzzTarget } from '../lib/target.js';
import { EXCHANGE_ADDRESS, envelopeFor, syncFuzzWorld } from './sync-world.js';

interface EnvelopeCase {
  /** The upstream topic it arrives on (usually its own kind's). */
  topicKind: MessageKind;
  bytes: Uint8Array;
}

const SYNC_ERRORS = /^E_SYNC_MALFORMED$/;
const REASONS = new Set<string>(REJECTION_REASONS);

/**
 * The gateway → exchange envelope (src/exchange-wire/envelope.ts) and the exchange's judge
 * of it (src/reference-exchange/judge.ts): signed envelopes of every kind mutated as bytes, as a
 * COSE structure, as a body re-signed with the gateway's key, and with a mutated payload
 * inside an otherwise consistent, signed envelope (so the manifest and outage-report checks
 * are reached). Asserts: openEnvelope throws only E_SYNC_MALFORMED and an opened envelope
 * survives seal → open unchanged; judgeEnvelope never throws, calls unreadable exactly what
 * openEnvelopeHead refuses (EXCHANGE.md §5.3 step 1), and rejects only with a documented reason; decodeOutageReport
 * throws only E_SYNC_MALFORMED.
 */
export const envelopeTarget: FuzzTarget<EnvelopeCase> = {
  name: 'envelope',
  description:
    'sync envelope decoding + the exchange judge (openEnvelope, judgeEnvelope, decodeOutageReport)',
  setup() {
    const world = syncFuzzWorld();
    const sealed = world.envelopes.map((e) => sealEnvelope(world.gateway, e));
    const kindOf = (i: number) => world.envelopes[i]!.kind;
    const topicKind = (i: number) =>
      fc.oneof(
        { weight: 12, arbitrary: fc.constant(kindOf(i)) },
        { weight: 1, arbitrary: fc.constantFrom(...MESSAGE_KINDS) },
      );
    const bodies = sealed.map((bytes) => openEnvelope(bytes).signed.bodyBytes);
    const bodyTrees = bodies.map(decodeTree);
    const bodyWords = wordsOf(bodyTrees);
    const payloadTrees = world.envelopes.map((e) => decodeTree(e.payload));
    const payloadWords = wordsOf(payloadTrees);
    const outerTrees = sealed.map(decodeTree);
    const outerWords = wordsOf(outerTrees);
    const index = fc.nat(sealed.length - 1);

    const byBytes = index.chain((i) =>
      fc.record({ topicKind: topicKind(i), bytes: mutatedBytes([sealed[i]!]) }),
    );
    const byOuter = fc
      .tuple(index, fc.array(treeMutation(outerWords), { minLength: 1, maxLength: 2 }))
      .map(([i, m]) => ({
        topicKind: kindOf(i),
        bytes: encodeTree(applyTreeMutations(outerTrees[i], m)) ?? sealed[i]!,
      }));
    const byBody = fc
      .tuple(index, fc.array(treeMutation(bodyWords), { minLength: 1, maxLength: 3 }))
      .map(([i, m]) => {
        const tree = applyTreeMutations(bodyTrees[i], m);
        // A tree no canonical encoding exists for (an integer past 64 bits) cannot be signed:
        // the seed stands in, as encodeTree's callers do.
        const bytes =
          encodeTree(tree) === undefined
            ? sealed[i]!
            : signMessage(world.gateway, CONTENT_TYPES.envelope, tree);
        return { topicKind: kindOf(i), bytes };
      });
    const byPayload = fc
      .tuple(index, fc.array(treeMutation(payloadWords), { minLength: 1, maxLength: 3 }))
      .map(([i, m]) => {
        const seed = world.envelopes[i]!;
        const payload = encodeTree(applyTreeMutations(payloadTrees[i], m)) ?? seed.payload;
        // The routing names the mutated manifest, so the judge gets to the manifest's own checks.
        const routing =
          seed.kind === 'manifest'
            ? { ...seed.routing, manifestId: createHash('sha256').update(payload).digest('hex') }
            : seed.routing;
        return {
          topicKind: seed.kind,
          bytes: sealEnvelope(world.gateway, envelopeFor(seed.kind, payload, routing)),
        };
      });
    const arbitrary = fc.oneof(
      { weight: 3, arbitrary: byBytes },
      { weight: 1, arbitrary: byOuter },
      { weight: 4, arbitrary: byBody },
      { weight: 4, arbitrary: byPayload },
    );
    return {
      arbitrary,
      record: ({ topicKind, bytes }) => Buffer.concat([Buffer.from(`${topicKind}\n`), bytes]),
      check({ topicKind, bytes }) {
        const head = expectTyped('openEnvelopeHead', SYNC_ERRORS, () => openEnvelopeHead(bytes));
        const opened = expectTyped('openEnvelope', SYNC_ERRORS, () => openEnvelope(bytes));
        let verdict: ReturnType<typeof judgeEnvelope>;
        try {
          verdict = judgeEnvelope(bytes, world.topicOf(topicKind), {
            address: EXCHANGE_ADDRESS,
            trust: world.exchangeTrust,
            now: 1_767_225_700_000,
          });
        } catch (err) {
          throw new FuzzFinding(`judgeEnvelope threw ${describe(err)}`, { cause: err });
        }
        check(
          head.ok === (verdict.outcome !== 'unreadable'),
          `openEnvelopeHead ${head.ok ? 'read' : 'refused'} what the judge calls ${verdict.outcome}`,
        );
        check(!opened.ok || head.ok, 'openEnvelope opened what openEnvelopeHead refuses');
        if (!opened.ok) return opened.code;
        const { envelope } = opened.value;
        checkEqual(
          openEnvelope(sealEnvelope(world.gateway, envelope)).envelope,
          envelope,
          'an opened envelope changed through seal → open',
        );
        payloadMatches(envelope);
        if (envelope.kind === 'outage') {
          const report = expectTyped('decodeOutageReport', SYNC_ERRORS, () =>
            decodeOutageReport(envelope.payload),
          );
          if (!report.ok && verdict.outcome === 'accepted' && topicKind === 'outage') {
            throw new FuzzFinding('the exchange accepted an outage report that does not decode');
          }
        }
        if (verdict.outcome === 'rejected') {
          check(REASONS.has(verdict.reason), `undocumented rejection reason ${verdict.reason}`);
          return `rejected ${verdict.reason}`;
        }
        return verdict.outcome === 'accepted' ? `accepted ${envelope.kind}` : verdict.outcome;
      },
    };
  },
};
