import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import nacl from 'tweetnacl';
import { encodeCanonical, Tag } from '../../src/cbor/index.js';
import { FIXTURE_KEYS_DIR, FIXTURE_MANIFESTS_DIR } from '../helpers/test-keys.js';

/**
 * firmware-protocol/MANIFEST.md §9–§10 followed by hand: tweetnacl and a generic
 * deterministic CBOR encoder, none of src/manifest. If the spec says enough to produce a
 * manifest in another language, this rebuilds fixtures/manifests/minimal.cose byte for byte.
 */

/** §10: block i = SHA-256("<label>:<i>"); each draw starts a new block. */
function specRandom(label: string): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let filled = 0; filled < n; filled += 32) {
      createHash('sha256')
        .update(`${label}:${i++}`)
        .digest()
        .copy(out, filled, 0, Math.min(32, n - filled));
    }
    return out;
  };
}

const keyFile = (kid: string) =>
  JSON.parse(readFileSync(path.join(FIXTURE_KEYS_DIR, `${kid}.TEST-ONLY.key`), 'utf8'));

t.test('minimal.cose rebuilt from the spec alone', async (t) => {
  const goods = JSON.parse(readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'), 'utf8'));
  const line = goods.goods[0];
  // §3: the goods body; minimal.json is already in canonical form except the omitted line number.
  const body = {
    consignor: goods.consignor,
    consignee: goods.consignee,
    document: goods.document,
    goods: [{ line: 1, ...line }],
  };
  const routing = {
    lockId: goods.lockId,
    container: goods.container,
    wagon: goods.wagon,
    train: goods.train,
    departure: goods.departure,
    destination: goods.destination,
    departureCountry: goods.departureCountry,
    destinationCountry: goods.destinationCountry,
    createdAt: Date.parse(goods.createdAt),
    issuingAuthority: goods.issuingAuthority,
  };

  // §5, with the §10 random source and draw order.
  const random = specRandom('minimal.json');
  const contentKey = random(32);
  const nonce = random(24);
  const ciphertext = nacl.secretbox(encodeCanonical(body), nonce, contentKey);
  const recipient = keyFile('cn-customs-recipient-1');
  const esk = random(32);
  const boxNonce = random(24);
  const wrappedKey = nacl.box(contentKey, boxNonce, Buffer.from(recipient.publicKey, 'base64'), esk);
  const sealed = {
    alg: 'X25519-XSalsa20-Poly1305',
    nonce,
    ciphertext,
    recipients: [
      {
        kid: 'cn-customs-recipient-1',
        epk: nacl.box.keyPair.fromSecretKey(esk).publicKey,
        nonce: boxNonce,
        wrappedKey,
      },
    ],
  };
  t.equal(
    Buffer.from(contentKey).toString('hex'),
    '5f4925d01b14a15887896d840bda7893fa5f2bb62957b49e7f49f3e15a89ce35',
    '§10 content key',
  );

  // §4.
  const payload = encodeCanonical({ v: 1, routing, sealed });
  const signer = keyFile('kz-customs-signer-1');
  const protectedHeader = encodeCanonical(
    new Map<number, unknown>([
      [1, -8],
      [3, 'application/ctop-manifest+cbor'],
      [4, Buffer.from(signer.kid)],
    ]),
  );
  t.equal(protectedHeader.length, 57, '§4: 57 bytes');
  const sigStructure = encodeCanonical(['Signature1', protectedHeader, new Uint8Array(0), payload]);
  const secret = nacl.sign.keyPair.fromSeed(Buffer.from(signer.secretKey, 'base64')).secretKey;
  const cose = encodeCanonical(
    new Tag([protectedHeader, new Map(), payload, nacl.sign.detached(sigStructure, secret)], 18),
  );

  const fixture = readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'minimal.cose'));
  t.equal(cose.length, 1005);
  t.equal(
    createHash('sha256').update(cose).digest('hex'),
    '95b5bc85c5f79bf4fe205f19c83e12ce8874aef686281f0cc2d7885f08e76b8c',
  );
  t.ok(cose.equals(fixture), 'identical to the fixture');
});
