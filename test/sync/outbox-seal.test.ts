/**
 * The seal a row keeps (src/sync/outbox-seal.ts): what `encodeOutboxSeal` writes decodes to
 * the same parts, and anything else — a damaged, truncated or foreign value in the column —
 * decodes to undefined (the row is then signed when sent), never to an exception.
 */
import fc from 'fast-check';
import t from 'tap';
import type { SealedEnvelope } from '../../src/exchange-wire/index.js';
import { contextKey, decodeOutboxSeal, encodeOutboxSeal } from '../../src/sync/outbox-seal.js';

const CONTEXT = {
  from: 'CTOP://KZ/DOSTYK/gw-1',
  to: 'CTOP://EXCHANGE',
  replyTo: 'ctop/v1/KZ/DOSTYK/gw-1/receipt',
};
const KEY = contextKey(CONTEXT);

const sealArb = fc.record({
  kid: fc.string({ maxLength: 40 }),
  head: fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  tail: fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  payloadLength: fc.integer({ min: 0, max: 0xffff_ffff }),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
});

t.test('a seal decodes to what was encoded', async (t) => {
  fc.assert(
    fc.property(sealArb, (sealed: SealedEnvelope) => {
      const back = decodeOutboxSeal(encodeOutboxSeal(sealed, CONTEXT), KEY);
      return (
        back !== undefined &&
        back.kid === sealed.kid &&
        back.head.equals(sealed.head) &&
        back.tail.equals(sealed.tail) &&
        back.payloadLength === sealed.payloadLength &&
        Buffer.from(back.signature).equals(Buffer.from(sealed.signature))
      );
    }),
    { numRuns: 500 },
  );
  t.pass('500 seals round-tripped');
});

t.test('a seal made for other addresses is not used', async (t) => {
  const sealed = fc.sample(sealArb, { numRuns: 1, seed: 7 })[0]!;
  const bytes = encodeOutboxSeal(sealed, CONTEXT);
  t.equal(decodeOutboxSeal(bytes, contextKey({ ...CONTEXT, to: 'CTOP://ELSEWHERE' })), undefined);
  t.ok(decodeOutboxSeal(bytes, KEY));
});

t.test('every truncation or extension of a seal decodes to undefined', async (t) => {
  fc.assert(
    fc.property(sealArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (sealed, cut, extra) => {
      const bytes = encodeOutboxSeal(sealed, CONTEXT);
      const short = bytes.subarray(0, cut % bytes.length);
      const long = Buffer.concat([bytes, extra]);
      return decodeOutboxSeal(short, KEY) === undefined && decodeOutboxSeal(long, KEY) === undefined;
    }),
    { numRuns: 500 },
  );
  t.pass('500 truncations and extensions refused');
});

t.test('arbitrary bytes never throw', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const out = decodeOutboxSeal(bytes, KEY);
      return out === undefined || typeof out.kid === 'string';
    }),
    { numRuns: 2000 },
  );
  // Lengths that claim more than the value holds, at each of the four parts.
  const sealed = fc.sample(sealArb, { numRuns: 1, seed: 3 })[0]!;
  const bytes = encodeOutboxSeal(sealed, CONTEXT);
  for (const at of [1, 3 + Buffer.byteLength(sealed.kid)]) {
    const lying = Buffer.from(bytes);
    lying.writeUInt16BE(0xffff, at);
    t.equal(decodeOutboxSeal(lying, KEY), undefined, `a u16 length at ${at} beyond the value`);
  }
  t.equal(decodeOutboxSeal(undefined, KEY), undefined);
  t.equal(decodeOutboxSeal(Buffer.alloc(0), KEY), undefined);
});
