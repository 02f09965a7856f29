/**
 * `npm run bench [-- name…]`: runs the benchmarks one after another in child processes so
 * one's memory and timers do not disturb the next. Results land in var/bench/.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const dir = new URL('./', import.meta.url);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'lib.ts')
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const args = process.argv.slice(2);
const wanted = args.filter((a) => all.includes(a));
const selected = wanted.length > 0 ? all.filter((b) => wanted.includes(b)) : all;
// Everything else goes to each benchmark (e.g. `-- train-speed --speeds 10,40`).
const passthrough = args.filter((a) => !all.includes(a));
let failed = 0;
for (const bench of selected) {
  console.log(`\n=== ${bench} ===`);
  const r = spawnSync(
    process.execPath,
    ['--import=tsx', new URL(`${bench}.ts`, dir).pathname, ...passthrough],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
