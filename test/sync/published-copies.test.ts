import { createHash } from 'node:crypto';
import t from 'tap';
import {
  deriveMessageId,
  Ed25519Signer,
  sealEnvelopeBody,
  sealedCopy,
} from '../../src/exchange-wire/index.js';
import { generateKey } from '../../src/keys/index.js';
import { PublishedCopies } from '../../src/sync/published-copies.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const copy = (id: string, n: number) => Buffer.from(`envelope of ${id}, attempt ${n}`);

t.test('every copy published is known by its hash, and nothing else is', async (t) => {
  const copies = new PublishedCopies();
  for (let n = 1; n <= 3; n++) copies.add('m1', copy('m1', n));
  for (let n = 1; n <= 3; n++) t.ok(copies.has('m1', sha(copy('m1', n))), `copy ${n}`);
  t.notOk(copies.has('m1', sha(copy('m1', 4))), 'a copy never published');
  t.notOk(copies.has('m2', sha(copy('m1', 1))), "another message's id");
  t.notOk(copies.has('m1', undefined), 'a result without envelopeSha256');
});

t.test('the last perMessage copies of a message are kept', async (t) => {
  const copies = new PublishedCopies({ perMessage: 3 });
  for (let n = 1; n <= 5; n++) copies.add('m1', copy('m1', n));
  t.notOk(copies.has('m1', sha(copy('m1', 2))), 'the second of five is gone');
  for (const n of [3, 4, 5]) t.ok(copies.has('m1', sha(copy('m1', n))), `copy ${n} of five`);
});

t.test('forget and the maxMessages bound drop whole messages', async (t) => {
  const copies = new PublishedCopies({ maxMessages: 3 });
  for (let i = 0; i < 5; i++) copies.add(`m${i}`, copy(`m${i}`, 1));
  t.equal(copies.size, 3);
  t.notOk(copies.has('m1', sha(copy('m1', 1))), 'the oldest published went first');
  t.ok(copies.has('m4', sha(copy('m4', 1))));
  copies.add('m2', copy('m2', 2));
  copies.add('m5', copy('m5', 1));
  t.ok(copies.has('m2', sha(copy('m2', 1))), 'republished: the most recent again, so kept');
  t.notOk(copies.has('m3', sha(copy('m3', 1))), 'm3 is now the oldest published, gone');
  copies.forget('m2');
  t.notOk(copies.has('m2', sha(copy('m2', 2))), 'forgotten once settled');
});

t.test(
  'a sealed copy (envelope 1.2) is known by the hash of the bytes it rebuilds, around the payload',
  async (t) => {
    const signer = new Ed25519Signer(generateKey('gateway', 'gw-dostyk-1'));
    const payload = Buffer.from('a pairing record, say');
    const from = 'CTOP://KZ/DOSTYK/gw-dostyk-1';
    const messageId = deriveMessageId(from, 'pairing', sha(payload));
    const sealed = sealEnvelopeBody(signer, {
      messageId,
      conversationId: 'urn:uuid:00000000-0000-8000-8000-000000000001',
      procedureId: 'urn:uuid:00000000-0000-8000-8000-000000000002',
      action: 'ctop/v1/pairing.submit',
      kind: 'pairing',
      from,
      to: 'CTOP://KZ/EXCHANGE',
      replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
      payloadSha256: sha(payload),
      payload,
      routing: {},
    });
    const copies = new PublishedCopies();
    copies.addSealed(messageId, sealed, 1_000, 1);
    copies.addSealed(messageId, sealed, 61_000, 2);
    const second = sha(sealedCopy(sealed, payload, 61_000, 2));
    t.ok(copies.has(messageId, second, payload), 'the second copy');
    t.ok(copies.has(messageId, sha(sealedCopy(sealed, payload, 1_000, 1)), payload), 'the first');
    t.notOk(
      copies.has(messageId, sha(sealedCopy(sealed, payload, 2_000, 1)), payload),
      'a sentAt never published',
    );
    t.notOk(copies.has(messageId, second), 'without the payload nothing can be rebuilt: not ours');
    t.notOk(copies.has(messageId, second, Buffer.from('another payload')), 'around another payload');
  },
);
