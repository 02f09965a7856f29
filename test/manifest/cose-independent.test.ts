import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import nacl from 'tweetnacl';
import { generateKey, TrustStore } from '../../src/keys/index.js';
import { composeManifest, inspectManifest, sealManifest } from '../../src/manifest/index.js';
import { FIXTURE_MANIFESTS_DIR, FIXTURE_TRUST_STORE } from '../helpers/test-keys.js';

/**
 * Verifies our COSE_Sign1 signatures without any of our code and without a CBOR library:
 * the envelope is taken apart byte by byte, the RFC 9052 §4.4 Sig_structure is assembled
 * by hand, and node:crypto (OpenSSL) and tweetnacl both check the Ed25519 signature.
 */

/** Reads a CBOR major type 2/3/4 header by hand: [major, length, headerSize]. */
function header(bytes: Buffer, at: number): [number, number, number] {
  const major = bytes[at]! >> 5;
  const ai = bytes[at]! & 0x1f;
  if (ai < 24) return [major, ai, 1];
  if (ai === 24) return [major, bytes[at + 1]!, 2];
  if (ai === 25) return [major, bytes.readUInt16BE(at + 1), 3];
  if (ai === 26) return [major, bytes.readUInt32BE(at + 1), 5];
  throw new Error(`unexpected additional information ${ai}`);
}

/** A definite-length byte-string header, written by hand. */
function bstrHeader(length: number): Buffer {
  if (length < 24) return Buffer.from([0x40 | length]);
  if (length < 0x100) return Buffer.from([0x58, length]);
  if (length < 0x10000) return Buffer.from([0x59, length >> 8, length & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x5a;
  b.writeUInt32BE(length, 1);
  return b;
}

function takeApart(cose: Buffer) {
  let at = 0;
  if (cose[at++] !== 0xd2) throw new Error('not tag 18');
  if (cose[at++] !== 0x84) throw new Error('not an array of 4');
  const bstr = () => {
    const [major, length, size] = header(cose, at);
    if (major !== 2) throw new Error(`expected a byte string at ${at}`);
    const value = cose.subarray(at + size, at + size + length);
    at += size + length;
    return value;
  };
  const protectedHeader = bstr();
  if (cose[at++] !== 0xa0) throw new Error('unprotected header is not an empty map');
  const payload = bstr();
  const signature = bstr();
  if (at !== cose.length) throw new Error('trailing bytes');
  return { protectedHeader, payload, signature };
}

function independentlyValid(cose: Buffer, publicKey: Uint8Array): boolean {
  const { protectedHeader, payload, signature } = takeApart(cose);
  const sigStructure = Buffer.concat([
    Buffer.from([0x84]), // array of 4
    Buffer.from([0x6a]), // text of 10
    Buffer.from('Signature1', 'ascii'),
    bstrHeader(protectedHeader.length),
    protectedHeader,
    Buffer.from([0x40]), // external_aad: empty byte string
    bstrHeader(payload.length),
    payload,
  ]);
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
  const byOpenSsl = verify(null, sigStructure, key, signature);
  // Our code path signs and verifies with OpenSSL too (src/keys/ed25519.ts); tweetnacl, an
  // implementation we do not use for it, must agree.
  const byTweetnacl = nacl.sign.detached.verify(sigStructure, signature, publicKey);
  if (byOpenSsl !== byTweetnacl) throw new Error('OpenSSL and tweetnacl disagree');
  return byOpenSsl;
}

t.test('every valid fixture verifies with node:crypto over a hand-built Sig_structure', async (t) => {
  const trust = TrustStore.load(FIXTURE_TRUST_STORE);
  for (const name of [
    'minimal',
    'wheat-kostanay-urumqi',
    'electronics-xian-duisburg',
    'auto-parts-chongqing-almaty',
    'consolidated-300',
  ]) {
    const cose = readFileSync(path.join(FIXTURE_MANIFESTS_DIR, `${name}.cose`));
    const kid = inspectManifest(cose, trust).verification.signerKid!;
    t.ok(independentlyValid(cose, trust.get(kid)!.publicKey), `${name} (signed by ${kid})`);
  }
  const tampered = readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'invalid/tampered.cose'));
  t.notOk(
    independentlyValid(tampered, trust.get('kz-customs-signer-1')!.publicKey),
    'the tampered one does not',
  );
});

t.test('the protected header is exactly {1: -8, 3: content type, 4: kid}, written by hand', async (t) => {
  const signer = generateKey('signer', 'kz-customs-signer-7');
  const recipient = generateKey('recipient', 'cn-customs-recipient-7');
  const input = JSON.parse(readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'), 'utf8'));
  const cose = sealManifest(composeManifest(input).manifest, { signer, recipients: [recipient] });
  const { protectedHeader } = takeApart(cose);
  const kid = Buffer.from('kz-customs-signer-7');
  const contentType = Buffer.from('application/ctop-manifest+cbor');
  const expected = Buffer.concat([
    Buffer.from([0xa3, 0x01, 0x27]), // map of 3; 1: -8 (0x27 = negative 7, i.e. -8)
    Buffer.from([0x03, 0x78, contentType.length]),
    contentType,
    Buffer.from([0x04, 0x40 | kid.length]),
    kid,
  ]);
  t.same(protectedHeader.toString('hex'), expected.toString('hex'));
  t.ok(independentlyValid(cose, signer.publicKey));
  t.notOk(independentlyValid(cose, generateKey('signer', 'other').publicKey), 'and fails with another key');
});
