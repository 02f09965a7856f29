/**
 * The layer rules of .dependency-cruiser.cjs (run by `npm run lint`): each one fires on an
 * import that breaks it, in a small fixture tree laid out like src/, and the real src/
 * breaks none of them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LOCK_ID_PATTERN } from '../src/lock/codec/constants.js';
import { SCAN_NAME_PATTERN } from '../src/lock/transport/ble-advertising.js';
import { tempDir } from './helpers/store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

function depcruise(
  cwd: string,
  outputType: 'json' | 'err',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', outputType],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The violations the dependency check finds in `src` under `cwd`. */
async function cruise(cwd: string): Promise<Violation[]> {
  const { stdout, stderr } = await depcruise(cwd, 'json');
  try {
    return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
  } catch {
    throw new Error(`depcruise printed no result: ${stderr}`);
  }
}

/** The fixture tree: file → source. Each rule has one file that breaks it and, where it has exceptions, one that does not. */
const FIXTURE: Record<string, string> = {
  'src/bytes.ts': 'export const bytes = 1;\n',
  'src/log.ts': 'export const log = 1;\n',
  'src/lock/codec/constants.ts': "import { bytes } from '../../bytes.js';\nexport const MAX_LINE = bytes;\n",
  'src/lock/codec/frame.ts': "import { log } from '../../log.js';\nexport const frame = log;\n",
  'src/lock/transport/serial-link.ts':
    "import { MAX_LINE } from '../codec/constants.js';\nexport const link = MAX_LINE;\n",
  'src/lock/session.ts': "import { store } from '../store/index.js';\nexport const session = store;\n",
  'src/manifest/inspect.ts': "import { store } from '../store/index.js';\nexport const inspect = store;\n",
  'src/store/index.ts': "import { sync } from '../sync/index.js';\nexport const store = sync;\n",
  'src/sync/index.ts': 'export const sync = 1;\n',
  'src/sim/lock/simulated-lock.ts': 'export const lock = 1;\n',
  'src/daemon/daemon.ts':
    "import { lock } from '../sim/lock/simulated-lock.js';\nexport const daemon = lock;\n",
  'src/cli/commands/lock-sim.ts':
    "import { lock } from '../../sim/lock/simulated-lock.js';\nexport const cli = lock;\n",
  'src/pairing/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
  'src/pairing/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
};

const EXPECTED: [rule: string, from: string][] = [
  ['transport-not-to-codec-or-session', 'src/lock/transport/serial-link.ts'],
  ['codec-pure', 'src/lock/codec/frame.ts'],
  ['manifest-not-to-store-or-sync', 'src/manifest/inspect.ts'],
  ['store-not-to-sync-lock-or-ingest', 'src/store/index.ts'],
  ['session-not-to-store-sync-or-ingest', 'src/lock/session.ts'],
  ['no-doubles-in-production', 'src/daemon/daemon.ts'],
  ['no-circular', 'src/pairing/a.ts'],
];

t.test('each layer rule fires on an import that breaks it, and on nothing else', async (t) => {
  const dir = tempDir(t, 'ctop-layers-');
  for (const [file, source] of Object.entries(FIXTURE)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  const violations = await cruise(dir);
  for (const [rule, from] of EXPECTED) {
    t.ok(
      violations.some((v) => v.rule.name === rule && v.from === from),
      `${rule} reported for ${from}`,
    );
  }
  const fired = new Set(violations.map((v) => v.rule.name));
  t.same([...fired].sort(), EXPECTED.map(([rule]) => rule).sort(), 'no other rule fires');
  t.notOk(
    violations.some((v) => v.from === 'src/cli/commands/lock-sim.ts'),
    'the lock-sim command may import the simulator',
  );
  t.notOk(
    violations.some((v) => v.from === 'src/lock/codec/constants.ts'),
    'the codec may import the bytes helpers',
  );
  // As `npm run lint` runs it: the exit status fails the lint and the output names the rule.
  const lint = await depcruise(dir, 'err');
  t.not(lint.code, 0, 'the lint fails');
  for (const [rule] of EXPECTED) t.match(lint.stdout, `error ${rule}:`, `the lint names ${rule}`);
});

t.test('src/ breaks none of the rules', async (t) => {
  const violations = await cruise(ROOT);
  t.same(
    violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
    [],
  );
});

t.test("the transport's scan-name pattern is the codec's lock id pattern", async (t) => {
  t.equal(SCAN_NAME_PATTERN.source, LOCK_ID_PATTERN.source);
  t.equal(SCAN_NAME_PATTERN.flags, LOCK_ID_PATTERN.flags);
});
