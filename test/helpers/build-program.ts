/**
 * tap's `before` step (package.json "tap"."before"): compiles what tsconfig.build.json lists
 * (src/, scripts/, the fixtures tests start as processes) to dist/ as `npm run build` does,
 * before any test file runs. The tests start the program as it ships
 * (test/helpers/built.ts), so each run must start the code of the tree it tests; tsc is
 * incremental, a tree built already costs a few seconds. Silent on success: its stdout is the
 * run's TAP stream.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: ROOT,
  stdio: ['ignore', process.stderr, process.stderr],
});
if (res.status !== 0) {
  process.stderr.write(
    `the build failed (tsc -p tsconfig.build.json, status ${res.status ?? res.signal}): the tests run the built program in dist/; fix what tsc says above\n`,
  );
  process.exitCode = 1;
}
