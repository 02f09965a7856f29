import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import nacl from 'tweetnacl';
import { encodeCanonical, Tag } from '../../src/cbor/index.js';
import { ERRORS, isCtopError } from '../../src/errors.js';
import { generateKey, publicPart, signDetached, TrustStore } from '../../src/keys/index.js';
import { encodeProtectedHeader, encodeSign1, sigStructure } from '../../src/manifest/cose.js';
import {
  composeManifest,
  DEFAULT_LIMITS,
  decodeBody,
  decodeDraft,
  decodePayload,
  encodePayload,
  encryptFor,
  inspectManifest,
  openManifest,
} from '../../src/manifest/index.js';
import { FIXTURE_MANIFESTS_DIR } from '../helpers/test-keys.js';

/**
 * Hostile input: whatever bytes a lock hands over, inspection returns a status and never
 * throws; opening throws only typed manifest, key or integrity errors.
 */

const signer = generateKey('signer', 'kz-customs-signer-1');
const recipient = generateKey('recipient', 'kz-customs-recipient-1');
const trust = TrustStore.empty();
trust.add(publicPart(signer));
trust.add(publicPart(recipient));

const STATUSES = ['valid', 'unknown_signer', 'bad_signature', 'expired', 'revoked', 'malformed'];
const OPEN_CATEGORIES = new Set(['manifest', 'integrity', 'security']);

function inspectsCleanly(bytes: Uint8Array): boolean {
  const inspection = inspectManifest(bytes, trust);
  if (!STATUSES.includes(inspection.verification.status)) return false;
  if (inspection.verification.status !== 'valid' && !inspection.verification.code) return false;
  return inspection.size === bytes.byteLength && /^[0-9a-f]{64}$/.test(inspection.manifestId);
}

function opensCleanly(bytes: Uint8Array): boolean {
  try {
    openManifest(bytes, recipient, trust);
    return true;
  } catch (err) {
    if (!isCtopError(err)) throw err;
    if (!OPEN_CATEGORIES.has(ERRORS[err.code].category))
      throw new Error(`unexpected category for ${err.code}`);
    return true;
  }
}

/** Signs arbitrary payload bytes the way a (buggy or hostile) trusted issuer would. */
function signRaw(payload: Uint8Array): Buffer {
  const protectedBytes = encodeProtectedHeader(signer.kid);
  return encodeSign1(protectedBytes, payload, signDetached(signer, sigStructure(protectedBytes, payload)));
}

const anyCbor = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.maxSafeInteger(),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(
      fc.constantFrom('v', 'routing', 'sealed', 'body', 'goods', 'kid', 'nonce', 'line', 'hs', 'x'),
      tie('v'),
      { maxKeys: 5 },
    ),
  ),
})).v;

t.test('random bytes: a status, never an exception', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => inspectsCleanly(b) && opensCleanly(b)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) =>
      inspectsCleanly(Buffer.concat([Buffer.from([0xd2, 0x84]), b])),
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('random CBOR in the COSE slots: a status, never an exception', async (t) => {
  fc.assert(
    fc.property(anyCbor, anyCbor, anyCbor, anyCbor, (a, b, c, d) => {
      const bytes = encodeCanonical(new Tag([a, b, c, d], 18));
      return inspectsCleanly(bytes) && opensCleanly(bytes);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

t.test('validly signed but structurally random payloads are malformed, never valid', async (t) => {
  fc.assert(
    fc.property(anyCbor, (payload) => {
      const bytes = signRaw(encodeCanonical(payload));
      const v = inspectManifest(bytes, trust).verification;
      return v.status === 'malformed' && opensCleanly(bytes);
    }),
    { numRuns: 60 },
  );
  t.pass();
});

t.test(
  'a good payload with one field replaced by random CBOR, signed: malformed or valid, opens or throws typed',
  async (t) => {
    const input = JSON.parse(readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'), 'utf8'));
    const { manifest } = composeManifest(input);
    const payload = encryptFor(manifest, [recipient]) as unknown as Record<string, Record<string, unknown>>;
    const fields = [
      ...Object.keys(payload.routing!).map((k) => ['routing', k] as const),
      ...Object.keys(payload.sealed!).map((k) => ['sealed', k] as const),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...fields), anyCbor, ([part, key], value) => {
        const mutated = { ...payload, [part]: { ...payload[part], [key]: value } };
        const bytes = signRaw(encodeCanonical(mutated));
        return inspectsCleanly(bytes) && opensCleanly(bytes);
      }),
      { numRuns: 80 },
    );
    t.pass();
  },
);

t.test('a valid envelope around a random decrypted body: typed errors only', async (t) => {
  const input = JSON.parse(readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'), 'utf8'));
  const { manifest } = composeManifest(input);
  const base = encryptFor(manifest, [recipient]);
  fc.assert(
    fc.property(
      fc.oneof(
        anyCbor.map((v) => encodeCanonical(v)),
        fc.uint8Array({ maxLength: 300 }),
      ),
      (plaintext) => {
        const key = nacl.randomBytes(32);
        const nonce = nacl.randomBytes(24);
        const epk = nacl.box.keyPair();
        const boxNonce = nacl.randomBytes(24);
        const sealed = {
          ...base.sealed,
          nonce,
          ciphertext: nacl.secretbox(plaintext, nonce, key),
          recipients: [
            {
              kid: recipient.kid,
              epk: epk.publicKey,
              nonce: boxNonce,
              wrappedKey: nacl.box(key, boxNonce, recipient.publicKey, epk.secretKey),
            },
          ],
        };
        return opensCleanly(signRaw(encodePayload({ ...base, sealed })));
      },
    ),
    { numRuns: 80 },
  );
  t.pass();
});

t.test('the decoders alone: typed errors for anything', async (t) => {
  const decoders = [decodeBody, decodeDraft, decodePayload];
  fc.assert(
    fc.property(
      fc.oneof(
        anyCbor.map((v) => encodeCanonical(v)),
        fc.uint8Array({ maxLength: 300 }),
      ),
      fc.constantFrom(...decoders),
      (bytes, decode) => {
        try {
          decode(bytes, DEFAULT_LIMITS);
        } catch (err) {
          if (!isCtopError(err)) throw err;
        }
        return true;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('mutations of the 300-line fixture: never valid, never an exception', async (t) => {
  const fixtureTrust = TrustStore.load(
    path.join(FIXTURE_MANIFESTS_DIR, '../keys/trust-store.TEST-ONLY.json'),
  );
  const bytes = readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'consolidated-300.cose'));
  t.equal(inspectManifest(bytes, fixtureTrust).verification.status, 'valid');
  fc.assert(
    fc.property(
      fc.nat({ max: bytes.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      fc.nat({ max: 16 }),
      (at, xor, cut) => {
        const copy = Buffer.from(bytes.subarray(0, bytes.length - cut));
        copy[Math.min(at, copy.length - 1)]! ^= xor;
        return inspectManifest(copy, fixtureTrust).verification.status !== 'valid';
      },
    ),
    { numRuns: 25 },
  );
});
