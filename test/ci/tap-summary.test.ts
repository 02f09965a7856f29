import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

// The line CI reads, and the failures listed above it: a CI record keeps the tail of a run,
// so a red run must name what broke there.
const summary = (tap: string, soak?: string): string[] => {
  const file = join(mkdtempSync(join(tmpdir(), 'tap-summary-')), 'results.txt');
  writeFileSync(file, tap);
  const args = ['scripts/tap-summary.mjs', file, ...(soak === undefined ? [] : [soak])];
  return execFileSync(process.execPath, args, { encoding: 'utf8' }).trimEnd().split('\n');
};

const stream = `TAP version 14
# Subtest: test/a.test.ts
    # Subtest: a lock is read
        ok 1 - read
        not ok 2 - manifest stored
          ---
          at:
            fileName: test/a.test.ts
            lineNumber: 42
          found: 0
          wanted: 1
          stack: |
            at a.test.ts:42
          ...
        1..2
    not ok 1 - a lock is read # time=12ms
      ---
      at:
        fileName: test/a.test.ts
        lineNumber: 10
      ...
    1..1
not ok 1 - test/a.test.ts # time=20ms
# Subtest: test/b.test.ts
    ok 1 - fine
    1..1
ok 2 - test/b.test.ts # time=3ms
# Subtest: test/c.test.ts
    not ok 1 - skipped one # SKIP not here
    not ok 2 - todo one # TODO later
    1..2
ok 3 - test/c.test.ts
1..3
# { total: 4, pass: 2, fail: 1, skip: 1, todo: 1 }
`;

t.same(
  summary(stream, '0'),
  [
    'FAILED test/a.test.ts › a lock is read › manifest stored (test/a.test.ts:42)',
    '    found: 0',
    '    wanted: 1',
    '3 passed, 1 failed',
  ],
  'the failed assertion named with its subtests, where and what; parents that failed because of it not repeated; the soak counted',
);
t.same(summary(stream, '1').at(-1), '2 passed, 2 failed', 'a failed soak is one more failure');
t.same(
  summary('ok 1 - x\n1..1\n# { total: 1, pass: 1, fail: 0 }\n'),
  ['1 passed, 0 failed'],
  'a green run prints the one line only',
);
t.same(
  summary('# Subtest: test/d.test.ts\nnot ok 1 - test/d.test.ts # time=1200000ms\n1..1\n'),
  ['FAILED test/d.test.ts', '0 passed, 1 failed'],
  'a run without totals (cut short) is a failure, never a pass, and its failed file named',
);
