import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/**
 * THREAT-MODEL.md is only worth something while its citations are true: every test it
 * cites exists under that exact name, every threat row cites a test (or says it is out of
 * scope), every source path it names exists. Citation syntax (defined in THREAT-MODEL.md):
 *
 *     `test/<path>.test.ts` › "<test name, verbatim>"
 *
 * optionally followed by ` (pending)`, which is accepted only in a row whose status is
 * `pending` (work another engineer is landing).
 */

const root = fileURLToPath(new URL('../', import.meta.url));
const doc = readFileSync(`${root}THREAT-MODEL.md`, 'utf8');

const CITATION = /`(test\/[^`\s]+\.test\.ts)`\s*›\s*"([^"\n]+)"(\s*\(pending\))?/g;
const SOURCE_PATH = /`((?:src|scripts|systemd|docs|firmware-protocol)\/[^`\s]*)`(\s*\(pending\))?/g;
const STATUSES = ['covered', 'pending', 'out of scope'] as const;

interface Citation {
  file: string;
  name: string;
  pending: boolean;
  line: number;
}

function citationsIn(text: string, line: number): Citation[] {
  return [...text.matchAll(CITATION)].map((m) => ({
    file: m[1]!,
    name: m[2]!,
    pending: m[3] !== undefined,
    line,
  }));
}

/** The first argument of every `t.test(` call of a test file, as written in the source. */
const namesCache = new Map<string, Set<string>>();
function testNamesOf(file: string): Set<string> {
  let names = namesCache.get(file);
  if (!names) {
    const source = readFileSync(`${root}${file}`, 'utf8');
    names = new Set();
    for (const m of source.matchAll(/\bt\.test\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
      const raw = m[2]!;
      names.add(raw);
      // '…\'…' in the source is the name …'… at run time: accept that spelling too.
      names.add(raw.replace(/\\(.)/g, '$1'));
    }
    namesCache.set(file, names);
  }
  return names;
}

interface Row {
  id: string;
  line: number;
  cells: string[];
  status: string;
  citations: Citation[];
}

const lines = doc.split('\n');
const rows: Row[] = lines.flatMap((text, i) => {
  const m = /^\|\s*(T\d+)\s*\|/.exec(text);
  if (!m) return [];
  const cells = text
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  return [{ id: m[1]!, line: i + 1, cells, status: cells.at(-1) ?? '', citations: citationsIn(text, i + 1) }];
});
const pendingRowLines = new Set(rows.filter((r) => r.status === 'pending').map((r) => r.line));
const allCitations = lines.flatMap((text, i) => citationsIn(text, i + 1));

t.test('the parser finds the threat table and the citations', async (t) => {
  t.ok(rows.length >= 30, `${rows.length} threat rows (at least 30)`);
  t.ok(allCitations.length >= 30, `${allCitations.length} test citations (at least 30)`);
  t.ok(new Set(allCitations.map((c) => c.file)).size >= 15, 'citations spread over many test files');
  // A citation that almost matches the syntax would be silently skipped: refuse those.
  for (const [i, text] of lines.entries()) {
    const arrows = text.split('›').length - 1;
    const parsed = citationsIn(text, i + 1).length;
    t.equal(parsed, arrows, `line ${i + 1}: every › is part of a well-formed citation`);
  }
});

t.test('every threat row has a unique id, six cells, a known status and a test', async (t) => {
  const ids = rows.map((r) => r.id);
  t.same(ids, [...new Set(ids)], 'ids are unique');
  for (const row of rows) {
    t.equal(row.cells.length, 6, `${row.id}: id, threat, STRIDE, mitigation, tests, status`);
    t.ok(
      (STATUSES as readonly string[]).includes(row.status),
      `${row.id}: status "${row.status}" is one of ${STATUSES.join(', ')}`,
    );
    t.match(row.cells[2], /^[STRIDE](, [STRIDE])*$/, `${row.id}: STRIDE letters`);
    if (row.status !== 'out of scope') {
      t.ok(row.citations.length > 0, `${row.id}: cites at least one test`);
      t.match(row.cells[3], /`src\/|`scripts\/|`systemd\//, `${row.id}: names the mitigation in the code`);
    }
    // Citations belong in the tests column, so a row cannot borrow one from its mitigation text.
    t.equal(
      citationsIn(row.cells[4] ?? '', row.line).length,
      row.citations.length,
      `${row.id}: citations in the tests column`,
    );
  }
});

t.test('every cited test exists under its exact name', async (t) => {
  for (const c of allCitations) {
    const where = `THREAT-MODEL.md:${c.line}: ${c.file} › "${c.name}"`;
    if (c.pending) {
      t.ok(pendingRowLines.has(c.line), `${where}: (pending) only in a row whose status is pending`);
      if (!existsSync(`${root}${c.file}`) || !testNamesOf(c.file).has(c.name)) {
        t.comment(`pending, not yet in the tree: ${where}`);
        continue;
      }
    }
    if (!t.ok(existsSync(`${root}${c.file}`), `${where}: the file exists`)) continue;
    t.ok(testNamesOf(c.file).has(c.name), `${where}: the file has a t.test with that exact name`);
  }
});

t.test('every source, script, unit, doc or spec path named exists', async (t) => {
  const seen = new Set<string>();
  for (const [i, text] of lines.entries()) {
    for (const m of text.matchAll(SOURCE_PATH)) {
      const path = m[1]!;
      const pending = m[2] !== undefined;
      if (pending) {
        t.ok(pendingRowLines.has(i + 1), `line ${i + 1}: ${path} (pending) only in a pending row`);
        if (!existsSync(`${root}${path}`)) t.comment(`pending, not yet in the tree: ${path}`);
        continue;
      }
      seen.add(path);
      t.ok(existsSync(`${root}${path}`), `line ${i + 1}: ${path} exists`);
    }
  }
  t.ok(seen.size >= 40, `${seen.size} distinct paths named`);
});

t.test('the pending rows are listed, so nobody forgets them', async (t) => {
  const pending = rows.filter((r) => r.status === 'pending');
  for (const row of pending) {
    const missing = row.citations.filter(
      (c) => !existsSync(`${root}${c.file}`) || !testNamesOf(c.file).has(c.name),
    );
    t.comment(
      `${row.id} pending: ${missing.length} of ${row.citations.length} citations not yet in the tree`,
    );
    t.ok(
      row.citations.every((c) => c.pending),
      `${row.id}: every citation of a pending row is marked (pending)`,
    );
  }
  // Real rows must not hide behind the pending marker.
  const marked = allCitations.filter((c) => c.pending);
  t.ok(
    marked.every((c) => pendingRowLines.has(c.line)),
    'no (pending) citation outside a pending row',
  );
});

t.test('the checker itself refuses what it must', async (t) => {
  // Same regexes on made-up text: a wrong name, a wrong file and a bare path must not pass.
  const fake = citationsIn('`test/lock/faults.test.ts` › "slow-loris bytes: E_LINE_SLOWER"', 1);
  t.equal(fake.length, 1);
  t.notOk(testNamesOf(fake[0]!.file).has(fake[0]!.name), 'a name one letter off is not found');
  t.ok(testNamesOf('test/lock/faults.test.ts').has('slow-loris bytes: E_LINE_SLOW'), 'the real one is');
  t.notOk(existsSync(`${root}test/lock/no-such.test.ts`), 'a missing file is missing');
  t.equal(
    citationsIn('test/lock/faults.test.ts › "slow-loris bytes: E_LINE_SLOW"', 1).length,
    0,
    'backticks required',
  );
  t.equal(
    citationsIn('`test/lock/faults.test.ts` › "x" (pending)', 1)[0]?.pending,
    true,
    'pending marker read',
  );
});
