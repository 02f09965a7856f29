import { createPublicKey, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import nacl from 'tweetnacl';
import {
  algForRole,
  generateKey,
  KEY_ROLES,
  loadPrivateKey,
  loadPublicKey,
  parseKeyFile,
  signDetached,
  verifyDetached,
  writeKeyPair,
} from '../../src/keys/index.js';

function tmp(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('every role gets its algorithm: recipients X25519, the rest Ed25519', async (t) => {
  const dir = tmp(t);
  for (const role of KEY_ROLES) {
    const key = generateKey(role, `test-${role}`, { country: 'KZ' });
    t.equal(key.alg, role === 'recipient' ? 'X25519' : 'Ed25519', role);
    t.equal(algForRole(role), key.alg);
    const paths = writeKeyPair(dir, key);
    const loaded = loadPrivateKey(paths.privateKey);
    t.same([...loaded.secretKey], [...key.secretKey]);
    t.same([...loadPublicKey(paths.publicKey).publicKey], [...key.publicKey]);
    t.equal(loaded.country, 'KZ');
  }
});

t.test('the private key file is created 0600 even with a permissive umask; the .pub is 0644', async (t) => {
  const dir = tmp(t);
  const old = process.umask(0);
  t.teardown(() => process.umask(old));
  const paths = writeKeyPair(dir, generateKey('signer', 'kz-customs-signer-9'));
  t.equal(statSync(paths.privateKey).mode & 0o777, 0o600);
  t.equal(statSync(paths.publicKey).mode & 0o777, 0o644);
  t.equal(path.basename(paths.privateKey), 'kz-customs-signer-9.key');
  t.same(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary files left behind',
  );
  t.notMatch(readFileSync(paths.publicKey, 'utf8'), /secretKey/);
});

t.test('an existing key is never overwritten without overwrite: E_KEY_EXISTS', async (t) => {
  const dir = tmp(t);
  const first = generateKey('lock', 'lock-1');
  const paths = writeKeyPair(dir, first);
  t.throws(() => writeKeyPair(dir, generateKey('lock', 'lock-1')), { code: 'E_KEY_EXISTS' });
  t.same([...loadPrivateKey(paths.privateKey).secretKey], [...first.secretKey], 'the old key is intact');
  const second = generateKey('lock', 'lock-1');
  writeKeyPair(dir, second, { overwrite: true });
  t.same([...loadPrivateKey(paths.privateKey).secretKey], [...second.secretKey]);
  t.equal(statSync(paths.privateKey).mode & 0o777, 0o600);
});

t.test('a private key readable by group or others is refused like ssh does, naming the chmod', async (t) => {
  const dir = tmp(t);
  const { privateKey } = writeKeyPair(dir, generateKey('carrier', 'carrier-1'));
  for (const mode of [0o640, 0o604, 0o644, 0o660, 0o606, 0o610]) {
    chmodSync(privateKey, mode);
    t.throws(
      () => loadPrivateKey(privateKey),
      { code: 'E_KEY_PERMISSIONS', message: new RegExp(`chmod 600 ${privateKey.replace(/[.]/g, '\\.')}`) },
      mode.toString(8),
    );
    // loading only the public half of a .key file applies the same check
    t.throws(() => loadPublicKey(privateKey), { code: 'E_KEY_PERMISSIONS' });
  }
  chmodSync(privateKey, 0o400);
  t.equal(loadPrivateKey(privateKey).kid, 'carrier-1', '0400 is fine');
  chmodSync(privateKey, 0o600);
  t.equal(loadPrivateKey(privateKey).kid, 'carrier-1');
});

t.test('damaged or mismatched key files are refused with E_KEY_FORMAT', async (t) => {
  const dir = tmp(t);
  const key = generateKey('signer', 'signer-1');
  const { privateKey, publicKey } = writeKeyPair(dir, key);
  const doc = JSON.parse(readFileSync(privateKey, 'utf8'));
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value), { mode: 0o600 });
    return file;
  };
  const other = generateKey('signer', 'signer-2');
  const cases: [string, unknown][] = [
    ['not-json.key', '{"format":'],
    ['array.key', [1, 2]],
    ['wrong-format.key', { ...doc, format: 'pem' }],
    ['bad-kid.key', { ...doc, kid: '../etc/passwd' }],
    ['bad-role.key', { ...doc, role: 'admin' }],
    ['alg-mismatch.key', { ...doc, alg: 'X25519' }],
    ['bad-country.key', { ...doc, country: 'Kazakhstan' }],
    ['short-secret.key', { ...doc, secretKey: Buffer.alloc(16).toString('base64') }],
    ['mismatched-pair.key', { ...doc, publicKey: Buffer.from(other.publicKey).toString('base64') }],
  ];
  for (const [name, content] of cases) {
    t.throws(() => loadPrivateKey(write(name, content)), { code: 'E_KEY_FORMAT' }, name);
  }
  t.throws(() => loadPrivateKey(publicKey), {
    code: 'E_KEY_FORMAT',
    message: /public key, not a private key/,
  });
  t.throws(() => loadPrivateKey(path.join(dir, 'missing.key')), { code: 'E_FILE' });
  t.throws(() => loadPrivateKey(dir), { code: 'E_KEY_FORMAT' });
  t.throws(() => parseKeyFile('{}', 'x'), { code: 'E_KEY_FORMAT' });
});

t.test('generateKey refuses bad kids, roles and countries with E_USAGE', async (t) => {
  t.throws(() => generateKey('signer', ''), { code: 'E_USAGE' });
  t.throws(() => generateKey('signer', 'a/b'), { code: 'E_USAGE' });
  t.throws(() => generateKey('signer', 'x'.repeat(65)), { code: 'E_USAGE' });
  t.throws(() => generateKey('admin' as never, 'a'), { code: 'E_USAGE' });
  t.throws(() => generateKey('signer', 'a', { country: 'kz' }), { code: 'E_USAGE' });
});

t.test(
  'the 32-byte seed is the RFC 8032 private key: node:crypto verifies what signDetached signs',
  async (t) => {
    const key = generateKey('exchange', 'exchange-1');
    const message = Buffer.from('receipt for manifest 42');
    const signature = signDetached(key, message, 'exchange');
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey).toString('base64url') };
    t.ok(verify(null, message, createPublicKey({ key: jwk, format: 'jwk' }), signature));
    t.ok(verifyDetached(message, signature, key.publicKey));
    t.notOk(verifyDetached(Buffer.from('receipt for manifest 43'), signature, key.publicKey));
    t.notOk(
      verifyDetached(message, signature.subarray(1), key.publicKey),
      'wrong length is false, not a throw',
    );
    t.throws(() => signDetached(key, message, 'signer'), { code: 'E_KEY_ROLE' });
    t.throws(() => signDetached(generateKey('recipient', 'r'), message), { code: 'E_KEY_ROLE' });
  },
);

t.test('the X25519 secret is the RFC 7748 scalar: nacl.box derives the same public key', async (t) => {
  const key = generateKey('recipient', 'kz-customs-recipient-9');
  t.same([...nacl.box.keyPair.fromSecretKey(key.secretKey).publicKey], [...key.publicKey]);
  const jwk = { kty: 'OKP', crv: 'X25519', x: Buffer.from(key.publicKey).toString('base64url') };
  t.equal(createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyType, 'x25519');
});
