import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { generateKey, publicPart, signDetached, TrustStore } from '../../src/keys/index.js';

const T2025 = Date.parse('2025-06-01T00:00:00Z');
const signer = generateKey('signer', 'kz-customs-signer-1', { country: 'KZ' });
const recipient = generateKey('recipient', 'kz-customs-recipient-1', { country: 'KZ' });
const message = Buffer.from('a manifest');
const signature = signDetached(signer, message);

function store(): TrustStore {
  const s = TrustStore.empty();
  s.add(publicPart(signer), {
    notBefore: Date.parse('2025-01-01T00:00:00Z'),
    notAfter: Date.parse('2025-12-31T23:59:59Z'),
  });
  s.add(publicPart(recipient));
  return s;
}

t.test('the six outcomes are distinct', async (t) => {
  const s = store();
  const check = (o: Partial<Parameters<TrustStore['verify']>[0]>) =>
    s.verify({ kid: signer.kid, role: 'signer', message, signature, signedAt: T2025, ...o });
  t.equal(check({}).status, 'valid');
  t.equal(check({ kid: 'nobody' }).status, 'unknown_signer');
  t.match(check({ kid: recipient.kid }).detail, /recipient key, not a signer key/);
  t.equal(check({ kid: recipient.kid }).status, 'unknown_signer', 'a recipient key cannot sign manifests');
  t.equal(check({ role: 'exchange' }).status, 'unknown_signer', 'nor a signer key sign receipts');
  t.equal(check({ message: Buffer.from('a manifesT') }).status, 'bad_signature');
  t.equal(check({ signature: signature.subarray(0, 63) }).status, 'bad_signature');
  t.equal(check({ signedAt: Date.parse('2024-12-31T23:59:59Z') }).status, 'expired', 'before notBefore');
  t.equal(check({ signedAt: Date.parse('2026-01-01T00:00:00Z') }).status, 'expired', 'after notAfter');
  t.equal(check({ signedAt: Date.parse('2025-12-31T23:59:59Z') }).status, 'valid', 'notAfter is inclusive');
  s.revoke(signer.kid, Date.parse('2025-06-01T00:00:00Z'), 'key compromise');
  t.equal(check({ signedAt: T2025 }).status, 'revoked', 'signed at the revocation instant');
  t.match(check({ signedAt: T2025 }).detail, /key compromise/);
  t.equal(check({ signedAt: T2025 - 1 }).status, 'valid', 'signed before revocation stays valid');
  t.equal(check({ signedAt: T2025, message: Buffer.from('x') }).status, 'bad_signature', 'signature first');
});

t.test('save, load and the JSON format round-trip', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-trust-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'trust.json');
  const s = store();
  s.revoke(signer.kid, T2025, 'rotated');
  s.save(file);
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  t.equal(doc.format, 'ctop-agent-trust/1');
  t.equal(doc.keys[0].revokedAt, '2025-06-01T00:00:00.000Z');
  const loaded = TrustStore.load(file);
  t.equal(loaded.size, 2);
  t.equal(loaded.find(signer.kid, 'signer')?.revocationReason, 'rotated');
  t.equal(loaded.find(signer.kid, 'recipient'), undefined);
  t.same([...loaded.get(recipient.kid)!.publicKey], [...recipient.publicKey]);
  t.equal(loaded.get(signer.kid)!.notAfter, Date.parse('2025-12-31T23:59:59Z'));
});

t.test('reload picks up changes and keeps the old keys when the new file is broken', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-trust-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'trust.json');
  store().save(file);
  const s = TrustStore.load(file);
  t.equal(s.size, 2);
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.keys = doc.keys.slice(0, 1);
  writeFileSync(file, JSON.stringify(doc));
  s.reload();
  t.equal(s.size, 1);
  writeFileSync(file, '{"format": "ctop-agent-trust/1", "keys": [{"kid": "x"}]}');
  t.throws(() => s.reload(), { code: 'E_TRUST_STORE' });
  t.equal(s.size, 1, 'previous content still in force');
  writeFileSync(file, 'not json');
  t.throws(() => s.reload(), { code: 'E_TRUST_STORE' });
  rmSync(file);
  t.throws(() => s.reload(), { code: 'E_FILE' });
  t.equal(s.size, 1);
  t.throws(() => TrustStore.empty().reload(), { code: 'E_USAGE' });
});

t.test('invalid trust store documents are refused with E_TRUST_STORE, naming the entry', async (t) => {
  const good = store().toJSON();
  const entry = good.keys[0]!;
  const bad: [string, unknown][] = [
    ['not an object', []],
    ['wrong format', { ...good, format: 'x' }],
    ['keys not an array', { ...good, keys: {} }],
    ['duplicate kid', { ...good, keys: [entry, entry] }],
    ['bad role', { ...good, keys: [{ ...entry, role: 'root' }] }],
    ['alg mismatch', { ...good, keys: [{ ...entry, alg: 'X25519' }] }],
    ['bad key', { ...good, keys: [{ ...entry, publicKey: 'AAAA' }] }],
    ['bad time', { ...good, keys: [{ ...entry, notBefore: 'yesterday' }] }],
    [
      'window backwards',
      { ...good, keys: [{ ...entry, notBefore: '2026-01-01T00:00:00Z', notAfter: '2025-01-01T00:00:00Z' }] },
    ],
  ];
  for (const [label, doc] of bad) t.throws(() => TrustStore.fromJSON(doc), { code: 'E_TRUST_STORE' }, label);
  t.throws(() => TrustStore.fromJSON({ ...good, keys: [entry, { ...entry, role: 'x' }] }), {
    message: /keys\[1\]/,
  });
  t.throws(() => store().add({ ...publicPart(signer), publicKey: recipient.publicKey }), {
    code: 'E_TRUST_STORE',
  });
  t.throws(() => store().revoke('nobody', 0, 'x'), { code: 'E_TRUST_STORE' });
});
