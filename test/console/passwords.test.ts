import t from 'tap';
import {
  DEFAULT_SCRYPT,
  hashPassword,
  loadOfficers,
  parsePasswordHash,
  verifyPassword,
} from '../../src/console/index.js';
import { isCtopError } from '../../src/errors.js';

const PHC = /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

t.test('a hash verifies its password and nothing else; salts differ per hash', async (t) => {
  const a = await hashPassword('Dostyk-customs-2025!');
  const b = await hashPassword('Dostyk-customs-2025!');
  t.match(a, PHC);
  t.not(a, b, 'a fresh salt each time: equal passwords, different hashes');
  t.not(a.split('$')[3], b.split('$')[3]);
  const parsed = parsePasswordHash(a);
  t.same(parsed.params, DEFAULT_SCRYPT);
  t.equal(await verifyPassword('Dostyk-customs-2025!', parsed), true);
  t.equal(await verifyPassword('Dostyk-customs-2025?', parsed), false);
  t.equal(await verifyPassword('dostyk-customs-2025!', parsed), false);
  t.equal(await verifyPassword('', parsed), false);
  t.equal(await verifyPassword('Dostyk-customs-2025!', parsePasswordHash(b)), true);
});

t.test('composed and precomposed forms of the same letters are the same password (NFC)', async (t) => {
  const composed = 'Ökonom-Grenze-1'; // Ö as one code point
  const decomposed = 'O\u0308konom-Grenze-1'; // O + combining diaeresis
  t.not(composed, decomposed);
  t.equal(await verifyPassword(decomposed, parsePasswordHash(await hashPassword(composed))), true);
});

t.test('short passwords are refused when hashing', async (t) => {
  const err = await t.rejects(hashPassword('eleven char'));
  t.ok(isCtopError(err, 'E_CONSOLE_PASSWORD'));
  t.match(await hashPassword('twelve chars'), PHC);
});

t.test('only well-formed hashes with bounded costs are accepted', async (t) => {
  const good = await hashPassword('a long enough password');
  const [, , , salt, hash] = good.split('$');
  for (const bad of [
    'hunter2',
    '',
    good.replace('$scrypt$', '$argon2id$'),
    `$scrypt$ln=13,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=21,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=15,r=33,p=1$${salt}$${hash}`,
    `$scrypt$ln=15,r=8,p=17$${salt}$${hash}`,
    `$scrypt$ln=15,r=8,p=1$${salt!.slice(0, 10)}$${hash}`,
    `$scrypt$ln=15,r=8,p=1$${salt}$${hash!.slice(0, 20)}`,
  ]) {
    const err = t.throws(() => parsePasswordHash(bad, 'officers[0].passwordHash'));
    t.ok(isCtopError(err, 'E_CONSOLE_CONFIG'), bad);
    t.match((err as Error).message, /officers\[0\]\.passwordHash/);
  }
});

t.test('officer accounts are checked at start-up, naming the bad entry', async (t) => {
  const hash = await hashPassword('a long enough password');
  const ok = loadOfficers([
    { user: 'aigerim', passwordHash: hash, roles: ['customs', 'viewer', 'customs'] },
    { user: 'bolat', passwordHash: hash, roles: ['viewer'], name: ' B. Sarsenov ' },
  ]);
  t.same(ok.get('aigerim')?.roles, ['customs', 'viewer'], 'duplicate roles folded');
  t.equal(ok.get('aigerim')?.name, 'aigerim', 'the user name when no name is given');
  t.equal(ok.get('bolat')?.name, 'B. Sarsenov');
  for (const [accounts, why] of [
    [[{ user: 'Aigerim', passwordHash: hash, roles: ['customs'] }], /officers\[0\]\.user/],
    [[{ user: 'a b', passwordHash: hash, roles: ['customs'] }], /officers\[0\]\.user/],
    [
      [
        { user: 'x', passwordHash: hash, roles: ['customs'] },
        { user: 'x', passwordHash: hash, roles: ['viewer'] },
      ],
      /officers\[1\]: user x is listed twice/,
    ],
    [[{ user: 'x', passwordHash: hash, roles: [] }], /officers\[0\]\.roles/],
    [[{ user: 'x', passwordHash: hash, roles: ['admin'] }], /officers\[0\]\.roles/],
    [
      [{ user: 'x', passwordHash: 'plain-text-password', roles: ['viewer'] }],
      /officers\[0\]\.passwordHash \(x\)/,
    ],
    [[{ user: 'x', roles: ['viewer'] }], /officers\[0\]\.passwordHash is missing/],
  ] as const) {
    const err = t.throws(() => loadOfficers(accounts as never));
    t.ok(isCtopError(err, 'E_CONSOLE_CONFIG'));
    t.match((err as Error).message, why);
  }
});
