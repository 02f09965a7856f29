import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { sign1Bytes, sign1FromParts, signedSign1, sigStructureBytes } from '../../src/cbor/cose-frame.js';
import { encodeCanonical, Tag } from '../../src/cbor/index.js';
import { isCtopError } from '../../src/errors.js';
import {
  CONTENT_TYPES,
  decodeOutageReport,
  decodeStatus,
  deriveMessageId,
  Ed25519Signer,
  type Envelope,
  encodeEnvelope,
  encodeOutageReport,
  encodeStatus,
  nameBasedUuid,
  openEnvelope,
  openEnvelopeHead,
  openQuery,
  openQueryResult,
  openReceipt,
  openSigned,
  payloadMatches,
  QUERY_ACTIONS,
  RECEIPT_ACTION,
  type Receipt,
  sealEnvelope,
  sealEnvelopeBody,
  sealEnvelopeCopy,
  sealedCopy,
  signMessage,
  signQuery,
  signReceipt,
  toBeSigned,
  URN_UUID_PATTERN,
  verifyEd25519,
  verifyReceipt,
} from '../../src/exchange-wire/index.js';
import { generateKey, publicPart, TrustStore } from '../../src/keys/index.js';

const gateway = generateKey('gateway', 'gw-dostyk-1');
const exchange = generateKey('exchange', 'kz-exchange-1');
const trust = TrustStore.empty();
trust.add(publicPart(exchange));
trust.add(publicPart(gateway));
const gatewaySigner = new Ed25519Signer(gateway);
const exchangeSigner = new Ed25519Signer(exchange);

function envelope(payload: Uint8Array): Envelope {
  const sha = new Uint8Array(sha256(payload));
  return {
    messageId: deriveMessageId('CTOP://KZ/DOSTYK/gw-dostyk-1', 'pairing', sha),
    conversationId: 'urn:uuid:00000000-0000-8000-8000-000000000001',
    procedureId: 'urn:uuid:00000000-0000-8000-8000-000000000002',
    action: 'ctop/v1/pairing.submit',
    kind: 'pairing',
    from: 'CTOP://KZ/DOSTYK/gw-dostyk-1',
    to: 'CTOP://KZ/EXCHANGE',
    replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
    sentAt: 1_741_941_000_000,
    attempt: 1,
    payloadSha256: sha,
    payload,
    routing: { lockId: 'SSL-KZ-000123', count: 3, sealed: true, train: null, big: 2 ** 40 },
  };
}

function sha256(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

function receipt(over: Partial<Receipt> = {}): Receipt {
  return {
    action: RECEIPT_ACTION,
    from: 'CTOP://KZ/EXCHANGE',
    to: 'CTOP://KZ/DOSTYK/gw-dostyk-1',
    issuedAt: 1_741_941_000_500,
    results: [
      {
        messageId: 'urn:uuid:2b1b0a4c-7d1e-8f00-9a3b-0c1d2e3f4a5b',
        conversationId: 'urn:uuid:00000000-0000-8000-8000-000000000001',
        payloadSha256: new Uint8Array(32).fill(9),
        status: 'rejected',
        reason: 'manifest_revoked',
        detail: 'key compromise',
        receivedAt: 1_741_941_000_400,
        duplicate: false,
        verification: 'revoked',
      },
    ],
    ...over,
  };
}

t.test('messageIds are name-based UUIDv8: same content, same id; any input changes it', async (t) => {
  const sha = new Uint8Array(32).fill(1);
  const id = deriveMessageId('CTOP://KZ/DOSTYK/gw-dostyk-1', 'manifest', sha);
  t.match(id, URN_UUID_PATTERN);
  t.equal(id[23], '8', 'version 8');
  t.match(id[28], /[89ab]/, 'RFC 9562 variant');
  t.equal(deriveMessageId('CTOP://KZ/DOSTYK/gw-dostyk-1', 'manifest', sha), id);
  t.not(deriveMessageId('CTOP://KZ/ALTYNKOL/gw-altynkol-1', 'manifest', sha), id);
  t.not(deriveMessageId('CTOP://KZ/DOSTYK/gw-dostyk-1', 'alert', sha), id);
  t.not(deriveMessageId('CTOP://KZ/DOSTYK/gw-dostyk-1', 'manifest', new Uint8Array(32).fill(2)), id);
  // EXCHANGE.md §4.1 test vector: an implementation in another language must print this.
  t.equal(id, 'urn:uuid:71561479-e6a0-8f77-abd9-65e911fcd6ad');
  t.not(nameBasedUuid('a', ['bc']), nameBasedUuid('a', ['b', 'c']), 'parts are separated');
});

t.test('an envelope round-trips, and its signature covers every byte', async (t) => {
  const payload = encodeCanonical({ pairing: 'SSL-KZ-000123', at: 1 });
  const bytes = sealEnvelope(gatewaySigner, envelope(payload));
  const { envelope: opened, signed } = openEnvelope(bytes);
  t.same(opened, {
    ...envelope(payload),
    payload: Buffer.from(payload),
    payloadSha256: Buffer.from(envelope(payload).payloadSha256),
  });
  t.equal(signed.kid, 'gw-dostyk-1');
  t.ok(payloadMatches(opened));
  t.ok(verifyEd25519(toBeSigned(signed), signed.signature, gateway.publicKey));
  t.notOk(verifyEd25519(toBeSigned(signed), signed.signature, exchange.publicKey));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: bytes.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (at, mask) => {
        const damaged = Buffer.from(bytes);
        damaged[at]! ^= mask;
        try {
          const o = openEnvelope(damaged);
          return (
            !verifyEd25519(toBeSigned(o.signed), o.signed.signature, gateway.publicKey) ||
            !payloadMatches(o.envelope)
          );
        } catch (err) {
          return isCtopError(err, 'E_SYNC_MALFORMED');
        }
      },
    ),
    { numRuns: 300 },
  );
});

t.test(
  'an envelope of version 1.2: the body signed once, each copy its sentAt and attempt unprotected',
  async (t) => {
    const payload = encodeCanonical({ pairing: 'SSL-KZ-000123', at: 1 });
    const fields = envelope(payload);
    const sealed = sealEnvelopeBody(gatewaySigner, fields);
    const first = sealedCopy(sealed, payload, fields.sentAt, 1);
    const third = sealedCopy(sealed, payload, fields.sentAt + 61_000, 3);
    t.ok(first.equals(sealEnvelopeCopy(gatewaySigner, fields)), 'one step or two, the same bytes');

    const opened = openEnvelope(third);
    t.same(opened.envelope, {
      ...fields,
      sentAt: fields.sentAt + 61_000,
      attempt: 3,
      payload: Buffer.from(payload),
      payloadSha256: Buffer.from(fields.payloadSha256),
    });
    t.ok(verifyEd25519(toBeSigned(opened.signed), opened.signed.signature, gateway.publicKey));
    const once = openEnvelope(first).signed;
    t.ok(
      Buffer.from(once.bodyBytes).equals(Buffer.from(opened.signed.bodyBytes)),
      'every copy carries the same body',
    );
    t.ok(Buffer.from(once.signature).equals(Buffer.from(opened.signed.signature)), 'and the same signature');

    // Byte for byte what the general deterministic encoder writes for the same message.
    const { sentAt, attempt, ...body } = { ...fields, payloadSha256: Buffer.from(fields.payloadSha256) };
    const general = encodeCanonical(
      new Tag(
        [
          once.protectedBytes,
          new Map<string, number>([
            ['sentAt', sentAt + 61_000],
            ['attempt', 3],
          ]),
          encodeCanonical(body),
          once.signature,
        ],
        18,
      ),
    );
    t.ok(third.equals(general), 'deterministic CBOR');
    t.equal(attempt, 1);
    t.throws(
      () => sealedCopy(sealed, payload.subarray(1), sentAt, 1),
      RangeError,
      'another payload is refused',
    );
  },
);

t.test(
  'the unprotected header of a version 1.2 envelope: only sentAt and attempt, never also in the body',
  async (t) => {
    const payload = encodeCanonical({ pairing: 'SSL-KZ-000123', at: 1 });
    const fields = envelope(payload);
    const v11 = openEnvelope(sealEnvelope(gatewaySigner, fields)).signed;
    const v12 = openEnvelope(sealEnvelopeCopy(gatewaySigner, fields)).signed;
    const message = (signed: typeof v11, unprotected: Map<unknown, unknown>) =>
      encodeCanonical(new Tag([signed.protectedBytes, unprotected, signed.bodyBytes, signed.signature], 18));
    const reason = (bytes: Uint8Array, step: 'head' | 'whole') => {
      try {
        if (step === 'head') openEnvelopeHead(bytes);
        else openEnvelope(bytes);
        return 'accepted';
      } catch (err) {
        t.ok(isCtopError(err, 'E_SYNC_MALFORMED'), 'one typed error');
        return (err as Error).message;
      }
    };
    const perCopy = (sentAt: unknown, attempt: unknown) =>
      new Map<unknown, unknown>([
        ['sentAt', sentAt],
        ['attempt', attempt],
      ]);
    t.match(
      reason(
        message(
          v12,
          new Map<unknown, unknown>([
            ['sentAt', 1],
            ['x', 1],
          ]),
        ),
        'head',
      ),
      /unprotected header parameter x is not understood/,
      'an unknown parameter: the COSE layer is refused (dropped unanswered)',
    );
    t.match(
      reason(message(v12, new Map<unknown, unknown>([[4, 'kid']])), 'head'),
      /parameter 4 is not understood/,
      'a COSE parameter unprotected is refused too',
    );
    t.equal(
      reason(message(v12, perCopy(1, 0)), 'head'),
      'accepted',
      'bad values pass step 1, to be answered',
    );
    t.match(reason(message(v12, perCopy(1, 0)), 'whole'), /"attempt" must be at least 1/);
    t.match(reason(message(v12, perCopy(-1, 1)), 'whole'), /"sentAt" must be a non-negative integer/);
    t.match(reason(message(v12, perCopy('now', 1)), 'whole'), /"sentAt" must be a non-negative integer/);
    t.match(reason(message(v12, new Map([['sentAt', 1]])), 'whole'), /"attempt" is missing/);
    t.match(
      reason(message(v11, perCopy(1, 1)), 'whole'),
      /"sentAt" is both in the body and in the unprotected header/,
    );
    t.match(
      reason(message(v12, new Map()), 'whole'),
      /"sentAt" is missing/,
      'a 1.2 body needs its per-copy header',
    );

    const receiptBytes = signReceipt(exchangeSigner, receipt());
    const r = openReceipt(receiptBytes).signed;
    t.throws(
      () => openReceipt(message(r, perCopy(1, 1))),
      /unprotected header must be empty for application\/ctop-receipt\+cbor/,
      'only an envelope has per-copy fields',
    );
    const { sentAt: _s, attempt: _a, ...v12Body } = fields;
    const asQuery = openSigned(signMessage(gatewaySigner, CONTENT_TYPES.query, v12Body), 'query');
    t.equal(
      reason(message(asQuery, perCopy(1, 1)), 'head'),
      'accepted',
      'on an envelope topic it passes step 1, for step 3 to answer content_type_mismatch',
    );
    fc.assert(
      fc.property(
        fc.anything({ maxDepth: 2, withBigInt: true, withMap: true }),
        fc.anything({ maxDepth: 2 }),
        (a, b) => {
          let bytes: Uint8Array;
          try {
            bytes = message(v12, perCopy(a, b));
          } catch {
            return true; // not encodable as CBOR: nothing to decode
          }
          try {
            openEnvelope(bytes);
            return typeof a === 'number' || typeof a === 'bigint';
          } catch (err) {
            return isCtopError(err, 'E_SYNC_MALFORMED');
          }
        },
      ),
      { numRuns: 300 },
    );
  },
);

t.test('a receipt verifies only with a trusted exchange key, and every altered byte is caught', async (t) => {
  const bytes = signReceipt(exchangeSigner, receipt());
  const { receipt: r } = verifyReceipt(bytes, trust, 1_741_941_000_600);
  t.equal(r.results[0]!.reason, 'manifest_revoked');
  t.equal(r.issuedAt, 1_741_941_000_500, 'times above 2^32 survive');
  const byGateway = t.throws(() =>
    verifyReceipt(signReceipt(new Ed25519Signer(gateway), receipt()), trust, 1_741_941_000_600),
  );
  t.ok(isCtopError(byGateway, 'E_SYNC_SIGNATURE'), 'a gateway key is not an exchange key');
  const untrusted = t.throws(() => verifyReceipt(bytes, TrustStore.empty(), 1_741_941_000_600));
  t.ok(isCtopError(untrusted, 'E_SYNC_SIGNATURE'), 'unknown key');
  const revoked = TrustStore.empty();
  revoked.add(publicPart(exchange));
  revoked.revoke('kz-exchange-1', 1_741_941_000_550, 'rotated');
  t.ok(
    isCtopError(
      t.throws(() => verifyReceipt(bytes, revoked, 1_741_941_000_600)),
      'E_SYNC_SIGNATURE',
    ),
    'revoked before reception, though issuedAt (…500) claims earlier: a revoked key cannot backdate',
  );
  t.equal(
    verifyReceipt(bytes, revoked, 1_741_941_000_540).receipt.issuedAt,
    1_741_941_000_500,
    'the same receipt received before the revocation verifies',
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: bytes.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (at, mask) => {
        const damaged = Buffer.from(bytes);
        damaged[at]! ^= mask;
        try {
          verifyReceipt(damaged, trust, 1_741_941_000_600);
          return false;
        } catch (err) {
          return isCtopError(err, 'E_SYNC_MALFORMED') || isCtopError(err, 'E_SYNC_SIGNATURE');
        }
      },
    ),
    { numRuns: 300 },
  );
  t.throws(() => signReceipt(exchangeSigner, receipt({ results: [] })), RangeError);
  const noReason = receipt();
  delete noReason.results[0]!.reason;
  t.ok(
    isCtopError(
      t.throws(() => openReceipt(signReceipt(exchangeSigner, noReason))),
      'E_SYNC_MALFORMED',
    ),
    'a rejection needs its reason',
  );
});

t.test('hostile bytes end in E_SYNC_MALFORMED for every decoder, never in another exception', async (t) => {
  const decoders: [string, (b: Uint8Array) => unknown][] = [
    ['envelope', openEnvelope],
    ['receipt', openReceipt],
    ['query', openQuery],
    ['query result', openQueryResult],
    ['status', decodeStatus],
    ['outage report', decodeOutageReport],
  ];
  const cborish = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.anything({ maxDepth: 3, withBigInt: true, withTypedArray: false, withMap: true }).map((v) => {
      try {
        return encodeCanonical(v);
      } catch {
        return new Uint8Array([0xff]);
      }
    }),
    // A real COSE_Sign1 shape with random parts.
    fc
      .tuple(
        fc.anything({ maxDepth: 2 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 80 }),
      )
      .map(([hdr, body, sig]) => {
        try {
          return encodeCanonical(new Tag([encodeCanonical(hdr), new Map(), body, sig], 18));
        } catch {
          return new Uint8Array([0xd2]);
        }
      }),
  );
  for (const [what, decode] of decoders) {
    fc.assert(
      fc.property(cborish, (bytes) => {
        try {
          decode(bytes);
          return true;
        } catch (err) {
          return isCtopError(err, 'E_SYNC_MALFORMED');
        }
      }),
      { numRuns: 400 },
    );
    t.pass(`${what}: only typed errors`);
  }
  const huge = new Uint8Array(1024 * 1024 + 1);
  t.ok(
    isCtopError(
      t.throws(() => openEnvelope(huge)),
      'E_SYNC_MALFORMED',
    ),
    'over 1 MiB refused before decoding',
  );
  const query = signQuery(gatewaySigner, {
    action: QUERY_ACTIONS.document,
    queryId: 'urn:uuid:00000000-0000-4000-8000-000000000001',
    from: 'CTOP://KZ/DOSTYK/gw-dostyk-1',
    to: 'CTOP://KZ/EXCHANGE',
    replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/query-result',
    sentAt: 1,
  });
  t.ok(
    isCtopError(
      t.throws(() => openQuery(query)),
      'E_SYNC_MALFORMED',
    ),
    'a document query names a document',
  );
  t.ok(
    isCtopError(
      t.throws(() => openReceipt(query)),
      'E_SYNC_MALFORMED',
    ),
    'a query is not a receipt (content type)',
  );
});

t.test("the hand-written COSE frames are byte for byte the deterministic encoder's", async (t) => {
  const sizes = fc.oneof(
    fc.integer({ min: 0, max: 30 }),
    fc.integer({ min: 250, max: 260 }),
    fc.integer({ min: 65_530, max: 65_540 }),
  );
  fc.assert(
    fc.property(sizes, sizes, fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(), (a, b, sig, cut) => {
      const protectedBytes = new Uint8Array(a).fill(1);
      const payload = new Uint8Array(b).fill(2);
      const general = encodeCanonical(['Signature1', protectedBytes, new Uint8Array(0), payload]);
      const tagged = encodeCanonical(new Tag([protectedBytes, new Map(), payload, sig], 18));
      // A sealed copy's frame: the unprotected header given encoded, the body in two parts.
      const at = cut % (b + 1);
      const parts = [payload.subarray(0, at), payload.subarray(at)];
      return (
        sigStructureBytes(protectedBytes, payload).equals(general) &&
        sign1Bytes(protectedBytes, payload, sig).equals(tagged) &&
        sign1FromParts(protectedBytes, Buffer.of(0xa0), parts, sig).equals(tagged)
      );
    }),
    { numRuns: 200 },
  );
  const big = new Uint8Array(70_000);
  t.ok(
    sigStructureBytes(big, big).equals(encodeCanonical(['Signature1', big, new Uint8Array(0), big])),
    '4-byte lengths',
  );
});

t.test(
  'signing in place (the body copied once) gives the frames above, signed over the Sig_structure',
  async (t) => {
    const sizes = fc.oneof(
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 250, max: 260 }),
      fc.integer({ min: 65_530, max: 65_540 }),
    );
    fc.assert(
      fc.property(sizes, sizes, fc.array(fc.nat(), { maxLength: 4 }), (a, b, cuts) => {
        const protectedBytes = new Uint8Array(a).fill(1);
        const body = Buffer.from(Array.from({ length: b }, (_, i) => i & 0xff));
        // The body in parts, cut at arbitrary places (empty parts included).
        const at = [...new Set(cuts.map((c) => c % (b + 1)))].sort((x, y) => x - y);
        const parts = [0, ...at].map((from, i) => body.subarray(from, [...at, b][i]));
        let seen: Buffer | undefined;
        // A stand-in signature: a hash of what was signed, so a wrong Sig_structure shows.
        const sign = (tbs: Buffer) => {
          seen = Buffer.from(tbs);
          const digest = createHash('sha256').update(tbs).digest();
          return Buffer.concat([digest, digest]);
        };
        const signed = signedSign1(protectedBytes, parts, sign);
        const expectedTbs = sigStructureBytes(protectedBytes, body);
        return (
          seen !== undefined &&
          seen.equals(expectedTbs) &&
          signed.equals(sign1Bytes(protectedBytes, body, sign(expectedTbs)))
        );
      }),
      { numRuns: 200 },
    );
  },
);

t.test("the envelope built around its payload is byte for byte the deterministic encoder's", async (t) => {
  const routingValue = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.boolean(),
    fc.constant(null),
  );
  const sizes = fc.oneof(
    fc.integer({ min: 0, max: 30 }),
    fc.integer({ min: 250, max: 260 }),
    fc.integer({ min: 65_530, max: 65_540 }),
  );
  fc.assert(
    fc.property(
      sizes,
      fc.dictionary(fc.string({ maxLength: 12 }), routingValue, { maxKeys: 8 }),
      fc.maxSafeNat(),
      fc.integer({ min: 1, max: 2 ** 33 }),
      // Text around the 24- and 256-byte heads, and beyond ASCII (the encoder writes UTF-8 lengths).
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.string({ minLength: 20, maxLength: 30 }),
      (size, routing, sentAt, attempt, from, action) => {
        const e = { ...envelope(new Uint8Array(size).fill(7)), routing, sentAt, attempt, from, action };
        return encodeEnvelope(e).equals(encodeCanonical(e));
      },
    ),
    { numRuns: 200 },
  );
  const e = envelope(new Uint8Array(8192).fill(9));
  t.ok(encodeEnvelope(e).equals(encodeCanonical(e)), 'an 8 KiB payload');
  const signed = openEnvelope(sealEnvelope(gatewaySigner, e));
  t.ok(Buffer.from(signed.signed.bodyBytes).equals(encodeCanonical(e)), 'the sealed body is the same bytes');
  t.ok(verifyEd25519(toBeSigned(signed.signed), signed.signed.signature, gateway.publicKey), 'it verifies');
});

t.test('status and outage reports round-trip', async (t) => {
  const status = {
    state: 'offline' as const,
    from: 'CTOP://KZ/DOSTYK/gw-dostyk-1',
    at: 1_741_941_000_000,
    reason: 'lost' as const,
  };
  t.same(decodeStatus(encodeStatus(status)), status);
  const report = {
    outageId: 7,
    gateway: status.from,
    startedAt: 1_741_941_000_000,
    endedAt: 1_741_941_060_000,
    cause: 'dns',
  };
  t.same(decodeOutageReport(encodeOutageReport(report)), report);
  const backwards = encodeOutageReport({ ...report, endedAt: 1 });
  t.ok(
    isCtopError(
      t.throws(() => decodeOutageReport(backwards)),
      'E_SYNC_MALFORMED',
    ),
  );
});
