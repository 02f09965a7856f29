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
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = wanted.length > 0 ? all.filter((b) => wanted.includes(b)) : all;
let failed = 0;
for (const bench of selected) {
  console.log(`\n=== ${bench} ===`);
  const r = spawnSync(process.execPath, ['--import=tsx', new URL(`${bench}.ts`, dir).pathname], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
