import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import { runCampaign } from '../../scripts/fuzz/lib/campaign.js';
import type { FuzzTarget } from '../../scripts/fuzz/lib/target.js';
import { TARGETS } from '../../scripts/fuzz/targets/index.js';
import { tempDir } from '../helpers/store.js';

/**
 * The fuzzing campaigns of `npm run fuzz` (docs/FUZZING.md), a few hundred cases each with a
 * fixed seed, so a decoder change that throws an untyped error, loops or pollutes a
 * prototype fails here and not only in the long campaign. The million-case figures come
 * from `npm run fuzz`, not from this test.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SEED = 20_261_123;

t.test('every campaign runs its cases without a finding and reaches more than one layer', async (t) => {
  t.same(
    TARGETS.map((x) => x.name),
    ['frame', 'line', 'manifest', 'envelope', 'receipt', 'config'],
    'the campaigns the issue names: frame codec, line framing, manifest, envelope, receipt, config',
  );
  for (const target of TARGETS) {
    const result = await runCampaign(target, { iterations: 300, seed: SEED });
    t.same(
      result.findings.map((f) => f.message),
      [],
      `${target.name}: no finding`,
    );
    t.equal(result.cases, 300, `${target.name}: every case ran`);
    t.ok(
      Object.keys(result.outcomes).length >= 2,
      `${target.name}: cases ended in several ways (${Object.keys(result.outcomes).join(', ')})`,
    );
  }
});

t.test('the harness catches an untyped exception and shrinks the case that causes it', async (t) => {
  const brittle: FuzzTarget<Uint8Array> = {
    name: 'brittle',
    description: 'a decoder that indexes past its input',
    setup: () => ({
      arbitrary: fc.uint8Array({ maxLength: 64 }),
      record: (bytes) => bytes,
      check(bytes) {
        if (bytes.length >= 3) (undefined as unknown as { x: number }).x;
        return 'ok';
      },
    }),
  };
  const result = await runCampaign(brittle, { iterations: 200, seed: SEED, maxFindings: 1 });
  t.equal(result.findings.length, 1, 'one finding');
  const [finding] = result.findings;
  t.match(finding?.message, /^unexpected TypeError/);
  t.equal(Buffer.from(finding!.input, 'base64').length, 3, 'shrunk to the smallest failing input');
});

t.test('npm run fuzz: a supervised run writes its report and exits 0 when nothing was found', async (t) => {
  const out = path.join(tempDir(t, 'ctop-fuzz-'), 'report.json');
  const res = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      'scripts/fuzz/index.ts',
      '--iterations',
      '200',
      '--target',
      'frame',
      '--target',
      'line',
      '--seed',
      String(SEED),
      '--out',
      out,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  t.equal(res.status, 0, res.stdout + res.stderr);
  t.match(res.stdout, /\| \*\*total\*\* \| \*\*400\*\* \|/, 'the Markdown table with the total');
  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    runs: { target: string; result?: { cases: number; findings: unknown[] } }[];
  };
  t.same(
    report.runs.map((r) => [r.target, r.result?.cases, r.result?.findings.length]),
    [
      ['frame', 200, 0],
      ['line', 200, 0],
    ],
  );
  const unknown = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/fuzz/index.ts', '--target', 'nope'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  t.equal(unknown.status, 2, 'an unknown target is a usage error');
  t.match(unknown.stderr, /unknown target nope; targets: frame, line/);
});
