import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import {
  ED25519_VERIFIER,
  isSmallOrderPoint,
  SMALL_ORDER_ENCODINGS,
  verifyEd25519,
  verifyEd25519OpenSsl,
  verifyEd25519Sodium,
} from '../../src/keys/ed25519.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** RFC 8032 §7.1, tests 1–3: public key, message, signature. */
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

const sodiumVerify = verifyEd25519Sodium;
const verifiers = [
  ['OpenSSL', verifyEd25519OpenSsl],
  ...(sodiumVerify ? [['libsodium', sodiumVerify] as const] : []),
] as const;

t.test('libsodium is the verifier wherever sodium-native has a prebuilt binary', async (t) => {
  const prebuilt = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];
  if (!prebuilt.includes(`${process.platform}-${process.arch}`)) {
    t.equal(verifyEd25519, sodiumVerify ?? verifyEd25519OpenSsl, 'whichever loaded verifies');
    return;
  }
  t.equal(ED25519_VERIFIER, 'libsodium', 'sodium-native (an optional dependency) loads here');
  t.equal(verifyEd25519, sodiumVerify);
});

for (const [name, verify] of verifiers) {
  t.test(`${name}: the RFC 8032 vectors verify, and fail when one byte changes`, async (t) => {
    for (const v of RFC8032) {
      const [publicKey, message, signature] = [hex(v.publicKey), hex(v.message), hex(v.signature)];
      t.ok(verify(message, signature, publicKey), v.name);
      const bent = Buffer.from(signature);
      bent[10]! ^= 1;
      t.notOk(verify(message, bent, publicKey), `${v.name}, a signature bit flipped`);
      t.notOk(
        verify(Buffer.concat([message, Buffer.of(0)]), signature, publicKey),
        `${v.name}, message longer`,
      );
    }
  });

  t.test(`${name}: wrong lengths and a non-canonical S are refused, not thrown`, async (t) => {
    const v = RFC8032[1]!;
    const [publicKey, message, signature] = [hex(v.publicKey), hex(v.message), hex(v.signature)];
    t.notOk(verify(message, signature.subarray(1), publicKey));
    t.notOk(verify(message, signature, publicKey.subarray(1)));
    t.notOk(verify(message, Buffer.concat([signature, Buffer.of(0)]), publicKey));
    // S + L (the group order): the same signature in a second encoding (RFC 8032 §5.1.7).
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`);
    const sPlusL = Buffer.from((s + L).toString(16).padStart(64, '0'), 'hex').reverse();
    t.notOk(verify(message, Buffer.concat([signature.subarray(0, 32), sPlusL]), publicKey));
  });
}

t.test('libsodium agrees with OpenSSL on genuine signatures and on any alteration', async (t) => {
  if (!sodiumVerify) {
    t.pass('sodium-native does not load on this platform: OpenSSL alone verifies');
    return;
  }
  const keys = Array.from({ length: 4 }, () => generateKeyPairSync('ed25519'));
  const raw = keys.map((k) => Buffer.from(k.publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  fc.assert(
    fc.property(
      fc.nat(keys.length - 1),
      fc.uint8Array({ maxLength: 16_384 }),
      fc.nat(),
      fc.constantFrom('message', 'signature', 'key', 'none'),
      (k, message, where, alter) => {
        const signature = sign(null, message, keys[k]!.privateKey);
        const publicKey = Buffer.from(raw[k]!);
        const m = Buffer.from(message);
        const target = alter === 'message' ? m : alter === 'signature' ? signature : publicKey;
        if (alter !== 'none' && target.byteLength > 0) target[where % target.byteLength]! ^= 1 << (where % 8);
        const altered = alter !== 'none' && target.byteLength > 0;
        const openssl = verifyEd25519OpenSsl(m, signature, publicKey);
        const sodium = sodiumVerify(m, signature, publicKey);
        return openssl === sodium && sodium === !altered;
      },
    ),
    { numRuns: 300 },
  );
});

t.test('a small-order public key is refused: one "signature" that would verify any message', async (t) => {
  // A = R = the identity point, S = 0: [S]B = R + [k]A holds for every message. OpenSSL 3.0
  // alone accepts it; a lock that pinned such a key could be impersonated by anyone.
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  const signature = Buffer.concat([identity, Buffer.alloc(32)]);
  for (const [name, verify] of verifiers)
    for (const message of ['AUTH nonce 1', 'any manifest at all'])
      t.notOk(verify(Buffer.from(message), signature, identity), `${name}: ${message}`);
  t.equal(verifyEd25519(Buffer.from('x'), signature, identity), false, 'the verifier in use refuses it');
});

t.test("the small-order list is the curve's: each y has small order, with either sign bit", async (t) => {
  const p = 2n ** 255n - 19n;
  const mod = (a: bigint) => ((a % p) + p) % p;
  const pow = (b: bigint, e: bigint) => {
    let r = 1n;
    for (let x = mod(b); e > 0n; e >>= 1n, x = (x * x) % p) if (e & 1n) r = (r * x) % p;
    return r;
  };
  const d = mod(-121665n * pow(121666n, p - 2n));
  t.equal(SMALL_ORDER_ENCODINGS.length, 7);
  for (const e of SMALL_ORDER_ENCODINGS) {
    const y = BigInt(`0x${Buffer.from(e).reverse().toString('hex')}`);
    const r = mod(y);
    const y2 = (r * r) % p;
    // Orders 1, 2, 4 (y = 1, −1, 0), or 8: 2P has y = 0, i.e. d·y⁴ + 2y² − 1 = 0.
    const small = r === 0n || r === 1n || r === p - 1n || mod(d * y2 * y2 + 2n * y2 - 1n) === 0n;
    t.ok(small, `y = ${y}`);
    const signed = Buffer.from(e);
    signed[31]! |= 0x80;
    t.ok(isSmallOrderPoint(e) && isSmallOrderPoint(signed), 'either sign bit');
  }
  t.notOk(isSmallOrderPoint(hex(RFC8032[0]!.publicKey)), 'a genuine key is not');
});
