import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { emptyObjectArray } from '../src/empty-object-array.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

t.test('each call gives a new, empty, ordinary array', async (t) => {
  const a = emptyObjectArray<{ n: number }>();
  const b = emptyObjectArray<{ n: number }>();
  t.ok(Array.isArray(a));
  t.equal(a.length, 0);
  t.not(a, b, 'not one shared array');
  a.push({ n: 1 });
  t.same(a, [{ n: 1 }]);
  t.equal(b.length, 0, 'filling one leaves the other empty');
  t.same([...a], [{ n: 1 }], 'iterates as any array');
});

// What the helper is for, asked of V8 itself: the claim and settling loops stay optimised
// only if an empty claim has the map of a full one.
t.test('V8 gives it the map of an array of objects, as a full claim has', async (t) => {
  const script = `
    import { emptyObjectArray } from ${JSON.stringify(path.join(ROOT, 'src/empty-object-array.ts'))};
    const full = [1, 2].map((n) => ({ n }));
    const pushed = emptyObjectArray(); pushed.push({ n: 1 });
    console.log(JSON.stringify([%HaveSameMap(emptyObjectArray(), full), %HaveSameMap(pushed, full)]));`;
  const out = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: ROOT, encoding: 'utf8' },
  );
  t.same(JSON.parse(out.trim()), [true, true], 'empty and filled: the map of a full claim');
});
