import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { encodeCanonical } from '../../src/cbor/index.js';
import {
  DOWNSTREAM_TOPICS,
  deriveMessageId,
  Ed25519Signer,
  ID_CONTEXTS,
  nameBasedUuid,
  openEnvelope,
  payloadMatches,
  RECEIPT_ACTION,
  sealEnvelope,
  signReceipt,
  toBeSigned,
  UPSTREAM_TOPICS,
  verifyEd25519,
  verifyReceipt,
} from '../../src/exchange-wire/index.js';
import { generateKey, publicPart, TrustStore } from '../../src/keys/index.js';
import { REJECTION_REASONS } from '../../src/reference-exchange/index.js';
import { OUTAGE_CAUSES } from '../../src/sync/index.js';

/** firmware-protocol/EXCHANGE.md is authoritative: its vectors and tables are replayed here. */
const doc = readFileSync(new URL('../../firmware-protocol/EXCHANGE.md', import.meta.url), 'utf8');

function block(info: string): string {
  const m = new RegExp(`\`\`\`${info}\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`EXCHANGE.md has no \`\`\`${info} block`);
  return m[1]!.trim();
}

const clock = { now: () => Date.UTC(2025, 2, 14, 8, 30), monotonic: () => 0 };
const gateway = generateKey('gateway', 'gw-dostyk-1', { random: () => new Uint8Array(32).fill(1), clock });
const exchange = generateKey('exchange', 'kz-exchange-1', {
  random: () => new Uint8Array(32).fill(2),
  clock,
});
const FROM = 'CTOP://KZ/DOSTYK/gw-dostyk-1';

t.test('§11 the public keys of the seeds are the ones printed', async (t) => {
  t.match(doc, Buffer.from(gateway.publicKey).toString('hex'));
  t.match(doc, Buffer.from(exchange.publicKey).toString('hex'));
});

t.test('§11 vectors: the MessageID, the envelope and the receipt are reproduced byte for byte', async (t) => {
  t.equal(deriveMessageId(FROM, 'manifest', new Uint8Array(32).fill(1)), block('text messageId-1'));
  const payload = encodeCanonical({
    lockId: 'SSL-KZ-000123',
    sealedAt: 1741941000000,
    container: 'FCIU5093182',
  });
  t.equal(payload.toString('hex'), block('hex pairing-payload'));
  const sha = createHash('sha256').update(payload).digest();
  const messageId = deriveMessageId(FROM, 'pairing', sha);
  t.match(doc, `Its MessageID is \`${messageId}\``);
  const conversationId = nameBasedUuid(ID_CONTEXTS.conversation, [FROM, 'message', messageId]);
  const envelope = sealEnvelope(new Ed25519Signer(gateway), {
    messageId,
    conversationId,
    procedureId: nameBasedUuid(ID_CONTEXTS.procedure, ['lock', 'SSL-KZ-000123']),
    action: 'ctop/v1/pairing.submit',
    kind: 'pairing',
    from: FROM,
    to: 'CTOP://KZ/EXCHANGE',
    replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
    sentAt: 1741941000000,
    attempt: 1,
    payloadSha256: sha,
    payload,
    routing: { lockId: 'SSL-KZ-000123' },
  });
  t.equal(envelope.toString('hex'), block('hex envelope'));
  const opened = openEnvelope(Buffer.from(block('hex envelope'), 'hex'));
  t.ok(verifyEd25519(toBeSigned(opened.signed), opened.signed.signature, gateway.publicKey));
  t.ok(payloadMatches(opened.envelope));

  const receipt = signReceipt(new Ed25519Signer(exchange), {
    action: RECEIPT_ACTION,
    from: 'CTOP://KZ/EXCHANGE',
    to: FROM,
    issuedAt: 1741941000250,
    results: [
      {
        messageId,
        conversationId,
        payloadSha256: sha,
        status: 'accepted',
        receivedAt: 1741941000200,
        duplicate: false,
      },
    ],
  });
  t.equal(receipt.toString('hex'), block('hex receipt'));
  const trust = TrustStore.empty();
  trust.add(publicPart(exchange));
  t.equal(
    verifyReceipt(Buffer.from(block('hex receipt'), 'hex'), trust).receipt.results[0]!.messageId,
    messageId,
  );
});

t.test('the tables of the spec list exactly what the code does', async (t) => {
  const rows = (heading: string) => {
    const section = doc.slice(doc.indexOf(heading));
    const table = section.slice(section.indexOf('\n|'), section.indexOf('\n\n', section.indexOf('\n|') + 1));
    return table
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((l) => [...l.split('|')[1]!.matchAll(/`([a-z_-]+)`/g)].map((m) => m[1]!));
  };
  t.same(rows('### 5.2 Reason codes').sort(), [...REJECTION_REASONS].sort(), '§5.2 reason codes');
  t.same(rows('## 9. Outages').sort(), [...OUTAGE_CAUSES].sort(), '§9 outage causes');
  t.same(
    rows('### 2.2 Topics').sort(),
    [...UPSTREAM_TOPICS, ...DOWNSTREAM_TOPICS, 'status'].sort(),
    '§2.2 topic levels',
  );
});
