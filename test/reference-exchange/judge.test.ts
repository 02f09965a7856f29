import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  buildExchangeVectors,
  VECTOR_KEYS,
  vectorPairingRecord,
} from '../../scripts/lib/exchange-vectors.js';
import { encodeCanonical } from '../../src/cbor/index.js';
import {
  CONTENT_TYPES,
  deriveMessageId,
  Ed25519Signer,
  type Envelope,
  encodeOutageReport,
  KIND_ACTIONS,
  type MessageKind,
  openEnvelopeHead,
  parseGatewayTopic,
  sealEnvelope,
  signMessage,
} from '../../src/exchange-wire/index.js';
import { generateKey, publicPart, TrustStore } from '../../src/keys/index.js';
import {
  judgeEnvelope,
  mosquittoAcl,
  REJECTION_REASONS,
  type Verdict,
} from '../../src/reference-exchange/index.js';
import { FIXTURE_MANIFESTS_DIR, FIXTURE_TRUST_STORE } from '../helpers/test-keys.js';

const FROM = 'CTOP://KZ/DOSTYK/gw-dostyk-1';
const gateway = generateKey('gateway', 'gw-dostyk-1');
const other = generateKey('gateway', 'gw-altynkol-1');
const stranger = generateKey('gateway', 'gw-dostyk-1.rogue');
const trust = TrustStore.load(FIXTURE_TRUST_STORE);
trust.add(publicPart(gateway));
trust.add(publicPart(other));
const ctx = {
  address: 'CTOP://KZ/EXCHANGE',
  trust,
  now: Date.UTC(2025, 2, 14, 9),
};
const manifest = (name: string) => readFileSync(path.join(FIXTURE_MANIFESTS_DIR, name));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

function envelope(kind: MessageKind, payload: Uint8Array, over: Partial<Envelope> = {}): Envelope {
  return {
    messageId: deriveMessageId(FROM, kind, sha(payload)),
    conversationId: 'urn:uuid:00000000-0000-8000-8000-000000000001',
    procedureId: 'urn:uuid:00000000-0000-8000-8000-000000000002',
    action: KIND_ACTIONS[kind],
    kind,
    from: FROM,
    to: 'CTOP://KZ/EXCHANGE',
    replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
    sentAt: ctx.now,
    attempt: 1,
    payloadSha256: sha(payload),
    payload,
    routing: {},
    ...over,
  };
}

function judge(env: Envelope, options: { key?: typeof gateway; topic?: string } = {}): Verdict {
  const topic = parseGatewayTopic(
    options.topic ?? `ctop/v1/KZ/DOSTYK/gw-dostyk-1/${env.kind === 'lock_events' ? 'event' : env.kind}`,
  )!;
  return judgeEnvelope(sealEnvelope(new Ed25519Signer(options.key ?? gateway), env), topic, ctx);
}

/** A pairing record valid against its CDDL (EXCHANGE.md §4.3): the §11 vector's. */
const record = encodeCanonical(vectorPairingRecord());

t.test('accepted: a valid manifest with its clear fields, records, outage reports', async (t) => {
  const wheat = judge(envelope('manifest', manifest('wheat-kostanay-urumqi.cose')));
  t.equal(wheat.outcome, 'accepted');
  if (wheat.outcome !== 'accepted') return;
  t.equal(wheat.verification, 'valid');
  t.equal(wheat.container, 'FCIU5093182');
  t.equal(wheat.lockId, 'SSL-KZ-000123');
  t.equal(wheat.manifestId, sha(manifest('wheat-kostanay-urumqi.cose')).toString('hex'));
  t.equal(judge(envelope('pairing', record)).outcome, 'accepted');
  const report = encodeOutageReport({ outageId: 3, gateway: FROM, startedAt: 1, endedAt: 2, cause: 'dns' });
  const outage = judge(envelope('outage', report));
  t.equal(outage.outcome === 'accepted' && outage.outage?.cause, 'dns');
  // A tamper report: the gateway itself flags the manifest, the exchange keeps it as evidence.
  const evidence = judge(
    envelope('manifest', manifest('invalid/tampered.cose'), { routing: { verification: 'bad_signature' } }),
  );
  t.equal(evidence.outcome, 'accepted');
  t.equal(evidence.outcome === 'accepted' && evidence.verification, 'bad_signature');
});

t.test('every rejection reason, each provoked on its own', async (t) => {
  const seen = new Set<string>();
  const expect = (what: string, verdict: Verdict, reason: string) => {
    t.equal(verdict.outcome, 'rejected', what);
    if (verdict.outcome === 'rejected') {
      t.equal(verdict.reason, reason, what);
      seen.add(verdict.reason);
    }
  };
  expect(
    'from another gateway',
    judge(envelope('pairing', record, { from: 'CTOP://KZ/ALTYNKOL/gw-altynkol-1' })),
    'address_mismatch',
  );
  expect(
    'to another exchange',
    judge(envelope('pairing', record, { to: 'CTOP://CN/EXCHANGE' })),
    'address_mismatch',
  );
  expect(
    "receipts asked on another gateway's topic",
    judge(envelope('pairing', record, { replyTo: 'ctop/v1/KZ/ALTYNKOL/gw-altynkol-1/receipt' })),
    'address_mismatch',
  );
  expect(
    'an alert on the pairing topic',
    judge(envelope('alert', record), { topic: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing' }),
    'kind_mismatch',
  );
  expect(
    "a pairing record with the alert's action",
    judge(envelope('pairing', record, { action: KIND_ACTIONS.alert })),
    'kind_mismatch',
  );
  expect(
    'an envelope body signed as a query',
    judgeEnvelope(
      signMessage(new Ed25519Signer(gateway), CONTENT_TYPES.query, envelope('pairing', record)),
      parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing')!,
      ctx,
    ),
    'content_type_mismatch',
  );
  expect('attempt 0', judge(envelope('pairing', record, { attempt: 0 })), 'envelope_malformed');
  expect(
    'a pairing record without its sealEvent (CDDL)',
    judge(envelope('pairing', encodeCanonical({ ...vectorPairingRecord(), sealEvent: undefined }))),
    'payload_malformed',
  );
  expect(
    'a key the exchange does not know',
    judge(envelope('pairing', record), { key: stranger }),
    'unknown_key',
  );
  expect('signed by another gateway', judge(envelope('pairing', record), { key: other }), 'key_mismatch');
  const forged = Buffer.from(sealEnvelope(new Ed25519Signer(gateway), envelope('pairing', record)));
  forged[forged.length - 1]! ^= 1;
  expect(
    'a bad signature',
    judgeEnvelope(forged, parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing')!, ctx),
    'bad_signature',
  );
  const revokedTrust = TrustStore.load(FIXTURE_TRUST_STORE);
  revokedTrust.add(publicPart(gateway));
  revokedTrust.revoke('gw-dostyk-1', ctx.now - 1000, 'stolen gateway');
  expect(
    'a revoked gateway key',
    judgeEnvelope(
      sealEnvelope(new Ed25519Signer(gateway), envelope('pairing', record)),
      parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing')!,
      { ...ctx, trust: revokedTrust },
    ),
    'key_revoked',
  );
  const expiredTrust = TrustStore.load(FIXTURE_TRUST_STORE);
  expiredTrust.add(publicPart(gateway), { notAfter: ctx.now - 1000 });
  expect(
    'an expired gateway key',
    judgeEnvelope(
      sealEnvelope(new Ed25519Signer(gateway), envelope('pairing', record)),
      parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing')!,
      { ...ctx, trust: expiredTrust },
    ),
    'key_expired',
  );
  expect(
    'a payload that is not the hashed one',
    judge(envelope('pairing', record, { payload: encodeCanonical({ other: 1 }) })),
    'payload_hash_mismatch',
  );
  expect(
    'a messageId not derived from the content',
    judge(envelope('pairing', record, { messageId: 'urn:uuid:00000000-0000-8000-8000-00000000000f' })),
    'message_id_mismatch',
  );
  expect(
    'a record that is not deterministic CBOR',
    judge(envelope('pairing', Buffer.from('{"json":true}'))),
    'payload_malformed',
  );
  expect(
    'an outage report of someone else',
    judge(
      envelope(
        'outage',
        encodeOutageReport({
          outageId: 1,
          gateway: 'CTOP://KZ/ALTYNKOL/gw-altynkol-1',
          startedAt: 1,
          endedAt: 2,
          cause: 'dns',
        }),
      ),
    ),
    'payload_malformed',
  );
  const cases: [string, string][] = [
    ['invalid/unknown-signer.cose', 'manifest_unknown_signer'],
    ['invalid/tampered.cose', 'manifest_bad_signature'],
    ['invalid/expired-signer.cose', 'manifest_expired'],
    ['invalid/revoked-signer.cose', 'manifest_revoked'],
    ['invalid/non-canonical.cose', 'manifest_malformed'],
  ];
  for (const [file, reason] of cases) {
    expect(
      `${file} that the gateway called valid`,
      judge(envelope('manifest', manifest(file), { routing: { verification: 'valid' } })),
      reason,
    );
  }
  t.same([...seen].sort(), [...REJECTION_REASONS].sort(), 'every documented reason is reachable');
});

t.test('a resend of a message accepted before skips the content checks, not the signature', async (t) => {
  const env = envelope('manifest', manifest('minimal.cose'));
  const bytes = sealEnvelope(new Ed25519Signer(gateway), env);
  const topic = parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/manifest')!;
  const asked: string[] = [];
  const again = judgeEnvelope(bytes, topic, ctx, (id) => asked.push(id) > 0);
  t.equal(again.outcome, 'accepted');
  t.equal(
    again.outcome === 'accepted' && again.verification,
    undefined,
    'the manifest was not inspected again',
  );
  t.same(asked, [env.messageId]);
  const forged = judgeEnvelope(sealEnvelope(new Ed25519Signer(stranger), env), topic, ctx, () => true);
  t.equal(
    forged.outcome === 'rejected' && forged.reason,
    'unknown_key',
    'a known messageId does not excuse the signature',
  );
});

t.test('unreadable bytes get no verdict but unreadable', async (t) => {
  const verdict = judgeEnvelope(
    Buffer.from('hello'),
    parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing')!,
    ctx,
  );
  t.equal(verdict.outcome, 'unreadable');
  t.equal(verdict.outcome === 'unreadable' && verdict.error.code, 'E_SYNC_MALFORMED');
  t.equal(parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw+1/pairing'), undefined);
  t.equal(parseGatewayTopic('ctop/v2/KZ/DOSTYK/gw-1/pairing'), undefined);
  t.equal(parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-1/unknown'), undefined);
});

t.test('the mosquitto ACL confines a gateway to its own subtree', async (t) => {
  const acl = mosquittoAcl();
  t.match(acl, /^pattern write ctop\/v1\/\+\/\+\/%u\/manifest$/m);
  t.match(acl, /^pattern read ctop\/v1\/\+\/\+\/%u\/receipt$/m);
  t.notMatch(
    acl,
    /^pattern (read|readwrite) ctop\/v1\/\+\/\+\/%u\/manifest$/m,
    'a gateway does not read its upstream',
  );
  t.match(acl, /^user exchange\ntopic readwrite ctop\/v1\/#$/m);
});

t.test(
  'the §11 vectors through the judge: accepted, bad_signature with its copy named, too deep dropped',
  async (t) => {
    const blocks = new Map(buildExchangeVectors().map((v) => [v.block, v.text]));
    const hex = (name: string) => Buffer.from(blocks.get(`hex ${name}`)!, 'hex');
    const vectorTrust = TrustStore.empty();
    vectorTrust.add(publicPart(VECTOR_KEYS.gateway));
    const vctx = { address: 'CTOP://KZ/EXCHANGE', trust: vectorTrust, now: 1741941000200 };
    const topic = parseGatewayTopic('ctop/v1/KZ/DOSTYK/gw-dostyk-1/pairing')!;
    const accepted = judgeEnvelope(hex('envelope'), topic, vctx);
    t.equal(accepted.outcome, 'accepted');
    t.equal(accepted.outcome === 'accepted' && accepted.container, 'FCIU5093182', 'indexed from the record');
    const altered = hex('envelope-bad-signature');
    const rejected = judgeEnvelope(altered, topic, vctx);
    t.equal(rejected.outcome === 'rejected' && rejected.reason, 'bad_signature');
    if (rejected.outcome === 'rejected') {
      t.same(rejected.head.envelopeSha256, sha(altered), 'envelopeSha256 names the altered copy');
      t.same(
        rejected.head.payloadSha256,
        openEnvelopeHead(hex('envelope')).payloadSha256,
        'the declared hash',
      );
    }
    t.equal(judgeEnvelope(hex('envelope-too-deep'), topic, vctx).outcome, 'unreadable');
  },
);

t.test('payload_hash_mismatch carries the declared payloadSha256, never the computed one', async (t) => {
  const declared = sha(Buffer.from('what the gateway says'));
  const verdict = judge(envelope('pairing', record, { payloadSha256: declared }));
  t.equal(verdict.outcome === 'rejected' && verdict.reason, 'payload_hash_mismatch');
  t.same(verdict.outcome === 'rejected' && Buffer.from(verdict.head.payloadSha256), declared);
});
