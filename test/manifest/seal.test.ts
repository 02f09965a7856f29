import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import nacl from 'tweetnacl';
import { decodeDeterministic, encodeCanonical, Tag } from '../../src/cbor/index.js';
import { generateKey, publicPart, TrustStore } from '../../src/keys/index.js';
import {
  composeManifest,
  DEFAULT_LIMITS,
  decodePayload,
  encodePayload,
  encryptFor,
  inspectManifest,
  type Manifest,
  openManifest,
  sealManifest,
  signManifest,
} from '../../src/manifest/index.js';
import { FIXTURE_MANIFESTS_DIR } from '../helpers/test-keys.js';
import { validGoodsInput } from './arbitraries.js';

const signer = generateKey('signer', 'kz-customs-signer-1', { country: 'KZ' });
const kzCustoms = generateKey('recipient', 'kz-customs-recipient-1', { country: 'KZ' });
const cnCustoms = generateKey('recipient', 'cn-customs-recipient-1', { country: 'CN' });
const bystander = generateKey('recipient', 'bystander-1');
const trust = TrustStore.empty();
for (const k of [signer, kzCustoms, cnCustoms, bystander]) trust.add(publicPart(k));

const minimal = (): Manifest =>
  composeManifest(JSON.parse(readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'), 'utf8')))
    .manifest;

t.test('round trip: compose → encrypt for two customs → sign → inspect → open by each', async (t) => {
  const manifest = minimal();
  const bytes = sealManifest(manifest, { signer, recipients: [kzCustoms, cnCustoms] });
  const inspection = inspectManifest(bytes, trust);
  t.equal(inspection.verification.status, 'valid');
  t.equal(inspection.verification.signerKid, signer.kid);
  t.same(inspection.routing, {
    ...manifest.routing,
    signerKid: signer.kid,
    recipients: [kzCustoms.kid, cnCustoms.kid],
  });
  for (const key of [kzCustoms, cnCustoms])
    t.same(openManifest(bytes, key, trust).body, manifest.body, key.kid);
  t.equal(bytes.indexOf(Buffer.from('Steppe Copper')), -1, 'the consignor name is nowhere in the clear');
  t.not(bytes.indexOf(Buffer.from(manifest.routing.container)), -1, 'the container number is, for indexing');
});

t.test('a non-recipient cannot decrypt; a key that only claims a recipient kid cannot either', async (t) => {
  const bytes = sealManifest(minimal(), { signer, recipients: [kzCustoms] });
  t.throws(() => openManifest(bytes, bystander, trust), {
    code: 'E_MANIFEST_NOT_RECIPIENT',
    message: /kz-customs-recipient-1, not for bystander-1/,
  });
  t.throws(() => openManifest(bytes, cnCustoms, trust), { code: 'E_MANIFEST_NOT_RECIPIENT' });
  const impostor = { ...bystander, kid: kzCustoms.kid };
  t.throws(() => openManifest(bytes, impostor, trust), { code: 'E_MANIFEST_DECRYPT' });
  t.throws(() => openManifest(bytes, signer, trust), { code: 'E_KEY_ROLE' });
});

t.test('every content key and nonce is fresh: two seals of one manifest share no ciphertext', async (t) => {
  const manifest = minimal();
  const a = decodePayload(encodePayload(encryptFor(manifest, [kzCustoms, cnCustoms])), DEFAULT_LIMITS);
  const b = decodePayload(encodePayload(encryptFor(manifest, [kzCustoms, cnCustoms])), DEFAULT_LIMITS);
  t.notSame([...a.sealed.nonce], [...b.sealed.nonce]);
  t.notSame([...a.sealed.ciphertext], [...b.sealed.ciphertext]);
  t.notSame(
    [...a.sealed.recipients[0]!.epk],
    [...a.sealed.recipients[1]!.epk],
    'one ephemeral key per recipient',
  );
  t.throws(() => encryptFor(manifest, []), { code: 'E_USAGE' });
  t.throws(() => encryptFor(manifest, [kzCustoms, kzCustoms]), { code: 'E_USAGE' });
});

t.test('flipping any byte of a signed manifest makes it not valid', async (t) => {
  const bytes = sealManifest(minimal(), { signer, recipients: [cnCustoms] });
  const counts: Record<string, number> = {};
  // Every byte, one flip each (about 1000 signature checks; tweetnacl takes ~10–20 ms each).
  for (let i = 0; i < bytes.length; i++) {
    const copy = Buffer.from(bytes);
    copy[i]! ^= i % 2 === 0 ? 0x01 : 0x80;
    const status = inspectManifest(copy, trust).verification.status;
    counts[status] = (counts[status] ?? 0) + 1;
    if (status === 'valid') t.fail(`flipping byte ${i} left the manifest valid`);
  }
  t.notOk('valid' in counts, `${bytes.length} flips: ${JSON.stringify(counts)}`);
  t.ok(counts.bad_signature! > bytes.length / 2, 'most flips are caught by the signature');
});

t.test('property: random byte changes never produce a valid manifest and never throw', async (t) => {
  const bytes = sealManifest(minimal(), { signer, recipients: [cnCustoms] });
  fc.assert(
    fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const copy = Buffer.from(bytes);
      copy[at]! ^= xor;
      return inspectManifest(copy, trust).verification.status !== 'valid';
    }),
    { numRuns: 100 },
  );
  t.pass();
});

t.test('only a payload with an encrypted body, signed by a signer key, is signed', async (t) => {
  const manifest = minimal();
  const draft = encodeCanonical({ v: 1, routing: manifest.routing, body: manifest.body });
  t.throws(() => signManifest(draft, signer), { code: 'E_MANIFEST_NOT_ENCRYPTED' });
  t.throws(() => signManifest(encryptFor(manifest, [kzCustoms]), kzCustoms), { code: 'E_KEY_ROLE' });
  t.throws(() => signManifest(encryptFor(manifest, [kzCustoms]), generateKey('gateway', 'gw-1')), {
    code: 'E_KEY_ROLE',
  });
  t.throws(() => signManifest(Buffer.from('a0', 'hex'), signer), { code: 'E_MANIFEST_MALFORMED' });
  t.throws(() => signManifest(encryptFor(manifest, [kzCustoms]), signer, { limits: { maxBytes: 512 } }), {
    code: 'E_MANIFEST_TOO_LARGE',
  });
});

t.test('signed bodies that break the schema are found after decryption', async (t) => {
  // A trusted signer that signs a body the schema refuses (say, a buggy issuer).
  const manifest = minimal();
  const bad = { ...manifest, body: { ...manifest.body, goods: [{ ...manifest.body.goods[0]!, hs: '12' }] } };
  const bytes = sealManifest(bad as Manifest, { signer, recipients: [kzCustoms] });
  t.equal(inspectManifest(bytes, trust).verification.status, 'valid', 'the envelope is fine');
  t.throws(() => openManifest(bytes, kzCustoms, trust), { code: 'E_MANIFEST_HS_CODE' });
  // A body that is not even CBOR, encrypted and signed properly.
  const payload = decodePayload(encodePayload(encryptFor(manifest, [kzCustoms])), DEFAULT_LIMITS);
  const key = nacl.randomBytes(32);
  const nonce = nacl.randomBytes(24);
  const ephemeral = nacl.box.keyPair();
  const wrappedNonce = nacl.randomBytes(24);
  payload.sealed = {
    ...payload.sealed,
    nonce,
    ciphertext: nacl.secretbox(Buffer.from('9bffffffffffffffff', 'hex'), nonce, key),
    recipients: [
      {
        kid: kzCustoms.kid,
        epk: ephemeral.publicKey,
        nonce: wrappedNonce,
        wrappedKey: nacl.box(key, wrappedNonce, kzCustoms.publicKey, ephemeral.secretKey),
      },
    ],
  };
  t.throws(() => openManifest(signManifest(payload, signer), kzCustoms, trust), { code: 'E_MANIFEST_LIMIT' });
});

t.test('property: any valid manifest seals, verifies and opens to itself', async (t) => {
  fc.assert(
    fc.property(validGoodsInput(), (input) => {
      const { manifest } = composeManifest(input);
      const bytes = sealManifest(manifest, { signer, recipients: [cnCustoms, kzCustoms] });
      const inspection = inspectManifest(bytes, trust);
      return (
        inspection.verification.status === 'valid' &&
        isDeepStrictEqual(inspection.routing, {
          ...manifest.routing,
          signerKid: signer.kid,
          recipients: [cnCustoms.kid, kzCustoms.kid],
        }) &&
        isDeepStrictEqual(openManifest(bytes, kzCustoms, trust).body, manifest.body)
      );
    }),
    { numRuns: 40 },
  );
  t.pass('40 generated manifests');
});

t.test('the COSE envelope is checked strictly', async (t) => {
  const bytes = sealManifest(minimal(), { signer, recipients: [cnCustoms] });
  const [protectedBytes, , payload, signature] = (decodeDeterministic(bytes, { allowedTags: [18] }) as Tag)
    .value as Uint8Array[];
  const envelope = (parts: unknown[], tag = 18) => encodeCanonical(new Tag(parts, tag));
  const header = (entries: [number, unknown][]) => encodeCanonical(new Map(entries));
  const kid = Buffer.from(signer.kid);
  const ct = 'application/ctop-manifest+cbor';
  const cases: [string, Uint8Array, string][] = [
    [
      'tag 98 instead of 18',
      envelope([protectedBytes, new Map(), payload, signature], 98),
      'E_MANIFEST_MALFORMED',
    ],
    ['untagged', encodeCanonical([protectedBytes, new Map(), payload, signature]), 'E_MANIFEST_MALFORMED'],
    ['three elements', envelope([protectedBytes, new Map(), payload]), 'E_MANIFEST_MALFORMED'],
    [
      'unprotected kid',
      envelope([protectedBytes, new Map([[4, kid]]), payload, signature]),
      'E_MANIFEST_MALFORMED',
    ],
    ['detached payload', envelope([protectedBytes, new Map(), null, signature]), 'E_MANIFEST_MALFORMED'],
    [
      'short signature',
      envelope([protectedBytes, new Map(), payload, signature!.subarray(1)]),
      'E_MANIFEST_MALFORMED',
    ],
    [
      'alg ES256',
      envelope([
        header([
          [1, -7],
          [3, ct],
          [4, kid],
        ]),
        new Map(),
        payload,
        signature,
      ]),
      'E_MANIFEST_MALFORMED',
    ],
    [
      'no content type',
      envelope([
        header([
          [1, -8],
          [4, kid],
        ]),
        new Map(),
        payload,
        signature,
      ]),
      'E_MANIFEST_MALFORMED',
    ],
    [
      'unknown header parameter',
      envelope([
        header([
          [1, -8],
          [3, ct],
          [4, kid],
          [33, 1],
        ]),
        new Map(),
        payload,
        signature,
      ]),
      'E_MANIFEST_MALFORMED',
    ],
    [
      'crit header (nested too deep to be ours)',
      envelope([
        header([
          [1, -8],
          [2, [99]],
          [3, ct],
          [4, kid],
        ]),
        new Map(),
        payload,
        signature,
      ]),
      'E_MANIFEST_LIMIT',
    ],
    [
      'kid as text',
      envelope([
        header([
          [1, -8],
          [3, ct],
          [4, signer.kid],
        ]),
        new Map(),
        payload,
        signature,
      ]),
      'E_MANIFEST_MALFORMED',
    ],
    ['not CBOR', Buffer.from('hello'), 'E_MANIFEST_MALFORMED'],
  ];
  for (const [label, input, code] of cases) {
    const v = inspectManifest(input, trust).verification;
    t.equal(v.status, 'malformed', label);
    t.equal(v.code, code, label);
  }
  t.equal(
    inspectManifest(envelope([protectedBytes, new Map(), payload, signature]), trust).verification.status,
    'valid',
    'control',
  );
});

t.test('size and structural limits hold for signed manifests too', async (t) => {
  const bytes = sealManifest(minimal(), { signer, recipients: [cnCustoms] });
  const small = inspectManifest(bytes, trust, { limits: { maxBytes: bytes.length - 1 } });
  t.match(small.verification, { status: 'malformed', code: 'E_MANIFEST_TOO_LARGE' });
  t.equal(small.routing, undefined);
  t.equal(small.size, bytes.length);
  t.equal(inspectManifest(bytes, trust, { limits: { maxBytes: bytes.length } }).verification.status, 'valid');
  const manifest = minimal();
  const many = [kzCustoms, cnCustoms, bystander];
  const three = sealManifest(manifest, { signer, recipients: many });
  t.match(inspectManifest(three, trust, { limits: { maxRecipients: 2 } }).verification, {
    status: 'malformed',
    code: 'E_MANIFEST_LIMIT',
  });
  const lines = {
    ...manifest,
    body: { ...manifest.body, goods: [1, 2, 3].map((line) => ({ ...manifest.body.goods[0]!, line })) },
  };
  const threeLines = sealManifest(lines, { signer, recipients: [kzCustoms] });
  t.throws(() => openManifest(threeLines, kzCustoms, trust, { limits: { maxGoodsLines: 2 } }), {
    code: 'E_MANIFEST_LIMIT',
  });
  t.equal(openManifest(threeLines, kzCustoms, trust, { limits: { maxGoodsLines: 3 } }).body.goods.length, 3);
});
