import { readFileSync } from 'node:fs';
import t from 'tap';
import { CtopError, ERRORS, EXIT_CODES, isCtopError, toCtopError } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/ERRORS.md', import.meta.url), 'utf8');

t.test('every error code is documented in docs/ERRORS.md', async (t) => {
  for (const code of Object.keys(ERRORS)) {
    t.match(doc, new RegExp(`^### \`${code}\``, 'm'), `${code} has a section`);
  }
});

t.test('docs/ERRORS.md documents no code that does not exist', async (t) => {
  const documented = [...doc.matchAll(/^### `(E_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
  t.ok(documented.length > 0);
  for (const code of documented) t.ok(code! in ERRORS, `${code} exists in src/errors.ts`);
});

t.test('every category maps to a distinct non-zero exit code', async (t) => {
  const codes = Object.values(EXIT_CODES);
  t.equal(new Set(codes).size, codes.length);
  t.notOk(codes.includes(0));
});

t.test('CtopError carries code, hint, exit code and log fields', async (t) => {
  const err = new CtopError('E_FRAME_CRC', 'crc mismatch', { details: { lockId: 'X' } });
  t.equal(err.code, 'E_FRAME_CRC');
  t.equal(err.hint, ERRORS.E_FRAME_CRC.hint);
  t.equal(err.exitCode, EXIT_CODES.protocol);
  t.same(err.toLog(), { code: 'E_FRAME_CRC', hint: ERRORS.E_FRAME_CRC.hint, lockId: 'X' });
  t.ok(isCtopError(err, 'E_FRAME_CRC'));
  t.notOk(isCtopError(err, 'E_FRAME_BODY'));
  t.equal(new CtopError('E_LOCK_HASH').message, ERRORS.E_LOCK_HASH.summary);
  const wrapped = toCtopError(new Error('boom'));
  t.equal(wrapped.code, 'E_INTERNAL');
  t.equal(wrapped.message, 'boom');
  t.equal(toCtopError(err), err);
});

t.test('docs/ERRORS.md is generated from the registry and up to date', async (t) => {
  const { renderErrorsDoc } = await import('../src/errors-doc.js');
  t.equal(doc, renderErrorsDoc(), 'run `npm run docs:errors` after changing src/errors.ts');
});
