import { createHash, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { buildExchangeVectors } from '../../scripts/lib/exchange-vectors.js';
import { decodeDeterministic, encodeCanonical, Tag } from '../../src/cbor/index.js';
import { isCtopError } from '../../src/errors.js';
import {
  CONTENT_TYPES,
  DOWNSTREAM_TOPICS,
  decodePairingRecord,
  deriveMessageId,
  Ed25519Signer,
  ID_CONTEXTS,
  isAuthenticatedReason,
  KIND_ACTIONS,
  KIND_TOPICS,
  nameBasedUuid,
  openEnvelope,
  openEnvelopeHead,
  openQuery,
  openQueryResult,
  payloadMatches,
  RECEIPT_ACTION,
  REJECTION_REASONS,
  sealEnvelope,
  signReceipt,
  toBeSigned,
  UPSTREAM_TOPICS,
  verifyEd25519,
  verifyReceipt,
} from '../../src/exchange-wire/index.js';
import { privateKeyObject } from '../../src/keys/ed25519.js';
import { generateKey, publicPart, TrustStore } from '../../src/keys/index.js';
import { OUTAGE_CAUSES } from '../../src/sync/index.js';

/** firmware-protocol/EXCHANGE.md is authoritative: its vectors and tables are replayed here. */
const doc = readFileSync(new URL('../../firmware-protocol/EXCHANGE.md', import.meta.url), 'utf8');

function block(info: string): string {
  const m = new RegExp(`\`\`\`${info}\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`EXCHANGE.md has no \`\`\`${info} block`);
  return m[1]!.trim();
}
const hexBlock = (name: string) => Buffer.from(block(`hex ${name}`), 'hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** CBOR diagnostic notation as §11 writes it (text, unsigned integers, h'…') → a value to encode. */
function fromDiagnostic(text: string): unknown {
  const json = text.replace(/h'([0-9a-f]*)'/g, '{"$hex": "$1"}');
  return JSON.parse(json, (_key, value) =>
    value !== null && typeof value === 'object' && typeof value.$hex === 'string'
      ? Buffer.from(value.$hex, 'hex')
      : value,
  );
}

const clock = { now: () => Date.UTC(2025, 2, 14, 8, 30), monotonic: () => 0 };
const seed = (byte: number) => ({ random: () => new Uint8Array(32).fill(byte), clock });
const gateway = generateKey('gateway', 'gw-dostyk-1', seed(1));
const exchange = generateKey('exchange', 'kz-exchange-1', seed(2));
const lock = generateKey('lock', 'SSL-KZ-000123', seed(3));
const FROM = 'CTOP://KZ/DOSTYK/gw-dostyk-1';
const exchangeTrust = TrustStore.empty();
exchangeTrust.add(publicPart(exchange));

t.test('§11 blocks are what `npm run vectors` writes', async (t) => {
  for (const v of buildExchangeVectors()) t.equal(block(v.block), v.text, `${v.block} is current`);
});

t.test('§11 the public keys of the seeds are the ones printed', async (t) => {
  t.match(doc, Buffer.from(gateway.publicKey).toString('hex'));
  t.match(doc, Buffer.from(exchange.publicKey).toString('hex'));
});

t.test('§11 rebuilt from the text: MessageID, pairing record, envelope, receipts', async (t) => {
  t.equal(deriveMessageId(FROM, 'manifest', new Uint8Array(32).fill(1)), block('text messageId-1'));

  const record = fromDiagnostic(block('cbor-diag pairing-record')) as Record<string, unknown>;
  t.same(record.identityKey, Buffer.from(lock.publicKey), 'identityKey is the public key of seed 3');
  const payload = encodeCanonical(record);
  t.equal(payload.toString('hex'), block('hex pairing-payload'));
  const parsed = decodePairingRecord(payload);
  t.equal(Object.keys(parsed).length, 11, 'valid against the pairing CDDL: all eleven fields');

  const payloadSha256 = sha(payload);
  const messageId = deriveMessageId(FROM, 'pairing', payloadSha256);
  const conversationId = nameBasedUuid(ID_CONTEXTS.conversation, [FROM, 'message', messageId]);
  const procedureId = nameBasedUuid(ID_CONTEXTS.procedure, ['manifest', parsed.manifestId]);
  t.equal(
    block('text pairing-ids'),
    [`messageId      ${messageId}`, `conversationId ${conversationId}`, `procedureId    ${procedureId}`].join(
      '\n',
    ),
  );
  const envelope = sealEnvelope(new Ed25519Signer(gateway), {
    messageId,
    conversationId,
    procedureId,
    action: 'ctop/v1/pairing.submit',
    kind: 'pairing',
    from: FROM,
    to: 'CTOP://KZ/EXCHANGE',
    replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
    sentAt: 1741941000000,
    attempt: 1,
    payloadSha256,
    payload,
    routing: {
      wagon: parsed.wagon,
      lockId: parsed.lockId,
      container: parsed.container,
      manifestId: parsed.manifestId,
      sealCounter: parsed.sealCounter,
    },
  });
  t.equal(envelope.toString('hex'), block('hex envelope'));
  const opened = openEnvelope(hexBlock('envelope'));
  t.ok(verifyEd25519(toBeSigned(opened.signed), opened.signed.signature, gateway.publicKey));
  t.ok(payloadMatches(opened.envelope));

  const result = { messageId, conversationId, payloadSha256, duplicate: false };
  const receipt = signReceipt(new Ed25519Signer(exchange), {
    action: RECEIPT_ACTION,
    from: 'CTOP://KZ/EXCHANGE',
    to: FROM,
    issuedAt: 1741941000250,
    results: [{ ...result, envelopeSha256: sha(envelope), status: 'accepted', receivedAt: 1741941000200 }],
  });
  t.equal(receipt.toString('hex'), block('hex receipt'));
  const verified = verifyReceipt(hexBlock('receipt'), exchangeTrust, 1741941000300).receipt.results[0]!;
  t.same(verified.envelopeSha256, sha(envelope));

  const altered = Buffer.from(envelope);
  altered[altered.length - 1]! ^= 0x01;
  t.equal(altered.toString('hex'), block('hex envelope-bad-signature'));
  const head = openEnvelopeHead(altered);
  t.equal(head.messageId, messageId, 'the altered copy still passes step 1');
  t.notOk(verifyEd25519(toBeSigned(head.signed), head.signed.signature, gateway.publicKey));
  const rejection = signReceipt(new Ed25519Signer(exchange), {
    action: RECEIPT_ACTION,
    from: 'CTOP://KZ/EXCHANGE',
    to: FROM,
    issuedAt: 1741941000350,
    results: [
      {
        ...result,
        envelopeSha256: sha(altered),
        status: 'rejected',
        reason: 'bad_signature',
        receivedAt: 1741941000300,
      },
    ],
  });
  t.equal(rejection.toString('hex'), block('hex receipt-bad-signature'));
});

t.test('§11 envelope-v1.2 rebuilt from the text with a general CBOR encoder and Ed25519', async (t) => {
  // The fields are the version 1.1 vector's: its body less sentAt and attempt.
  const v11 = openEnvelope(hexBlock('envelope'));
  const body = decodeDeterministic(v11.signed.bodyBytes) as Map<string, unknown>;
  body.delete('sentAt');
  body.delete('attempt');
  const bodyBytes = encodeCanonical(body);
  const sigStructure = encodeCanonical([
    'Signature1',
    v11.signed.protectedBytes,
    new Uint8Array(0),
    bodyBytes,
  ]);
  const signature = sign(null, sigStructure, privateKeyObject(gateway.secretKey, gateway.publicKey));
  const copy = (sentAt: number, attempt: number) =>
    encodeCanonical(
      new Tag(
        [
          v11.signed.protectedBytes,
          new Map<string, number>([
            ['sentAt', sentAt],
            ['attempt', attempt],
          ]),
          bodyBytes,
          signature,
        ],
        18,
      ),
    ).toString('hex');
  t.equal(copy(1741941000000, 1), block('hex envelope-v1.2'));
  t.equal(copy(1741941061000, 2), block('hex envelope-v1.2-resend'));
  const first = openEnvelope(hexBlock('envelope-v1.2'));
  const resend = openEnvelope(hexBlock('envelope-v1.2-resend'));
  t.same(first.envelope, v11.envelope, 'the same envelope as the version 1.1 vector');
  t.same({ ...resend.envelope, sentAt: 0, attempt: 0 }, { ...v11.envelope, sentAt: 0, attempt: 0 });
  t.same([resend.envelope.sentAt, resend.envelope.attempt], [1741941061000, 2]);
  t.ok(verifyEd25519(toBeSigned(resend.signed), resend.signed.signature, gateway.publicKey));
});

t.test('§11 envelope-too-deep is refused by the decoder (§10 depth), before any field', async (t) => {
  const err = t.throws(() => openEnvelopeHead(hexBlock('envelope-too-deep')));
  t.ok(isCtopError(err, 'E_SYNC_MALFORMED'));
  t.match((err as Error).message, /nesting deeper than the limit of 2/);
});

t.test('§11 the query and its answer carry the values the text gives', async (t) => {
  const { query, signed } = openQuery(hexBlock('query-document'));
  t.ok(verifyEd25519(toBeSigned(signed), signed.signature, gateway.publicKey));
  const ids = Object.fromEntries(
    block('text pairing-ids')
      .split('\n')
      .map((l) => l.split(/\s+/)),
  );
  t.match(query, {
    queryId: 'urn:uuid:3b1f6e0e-52c4-4d5e-9a57-2f4c8e9d1a60',
    action: 'ctop/v1/query.document',
    messageId: ids.messageId,
    sentAt: 1741941060000,
    replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/query-result',
  });
  const answer = openQueryResult(hexBlock('query-result'));
  t.ok(verifyEd25519(toBeSigned(answer.signed), answer.signed.signature, exchange.publicKey));
  t.equal(answer.signed.contentType, CONTENT_TYPES.queryResult);
  const payload = hexBlock('pairing-payload');
  t.match(answer.result, { status: 'ok', issuedAt: 1741941060100 });
  t.match(answer.result.records, [
    {
      seq: 1,
      messageId: ids.messageId,
      conversationId: ids.conversationId,
      procedureId: ids.procedureId,
      kind: 'pairing',
      sentAt: 1741941000000,
      receivedAt: 1741941000200,
      payloadSize: payload.byteLength,
      container: 'FCIU5093182',
      duplicates: 0,
    },
  ]);
  t.same(answer.result.records[0]!.payloadSha256, sha(payload));
});

/** The rows of the first table after `heading`, as arrays of cells. */
function table(heading: string): string[][] {
  const section = doc.slice(doc.indexOf(heading));
  const start = section.indexOf('\n|');
  return section
    .slice(start, section.indexOf('\n\n', start + 1))
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}
const codes = (cell: string) => [...cell.matchAll(/`([a-z0-9_./-]+)`/g)].map((m) => m[1]!);

t.test('the tables of the spec list exactly what the code does', async (t) => {
  const reasons = table('### 5.2 Reason codes');
  t.same(reasons.flatMap((r) => codes(r[0]!)).sort(), [...REJECTION_REASONS].sort(), '§5.2 reason codes');
  for (const [cell, , authenticated] of reasons) {
    for (const reason of codes(cell!))
      t.equal(isAuthenticatedReason(reason), authenticated === 'yes', `§5.2 ${reason} authenticated`);
  }
  t.same(
    table('## 9. Outages')
      .flatMap((r) => codes(r[0]!))
      .sort(),
    [...OUTAGE_CAUSES].sort(),
    '§9',
  );
  const topics = table('### 2.2 Topics');
  t.same(
    topics.flatMap((r) => codes(r[0]!)).sort(),
    [...UPSTREAM_TOPICS, ...DOWNSTREAM_TOPICS, 'status'].sort(),
    '§2.2 topic levels',
  );
  for (const [kind, level] of Object.entries(KIND_TOPICS)) {
    const row = topics.find((r) => codes(r[0]!)[0] === level);
    t.same(codes(row![2]!), [kind], `§2.2 level ${level} carries kind ${kind}`);
    t.same(codes(row![3]!), [KIND_ACTIONS[kind as keyof typeof KIND_ACTIONS]], `§2.2 ${kind}'s action`);
  }
});
