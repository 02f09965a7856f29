/**
 * One drain of the backlog and nothing else (no train): the CPU figures per message of
 * `npm run bench -- drain-under-train` (b, c) in about a minute, for runs back to back to
 * see how far this machine's pace moves them.
 *
 * `node --import tsx scripts/bench/sync/drain-runs.ts [messages]` (default 10000)
 */
import { rmSync } from 'node:fs';
import { measureDrain } from './drain.js';
import { parties, prepareBacklog } from './fixtures.js';

const p = parties();
try {
  const figures = await measureDrain(p, prepareBacklog(p, Number(process.argv[2] ?? 10_000)));
  console.log(JSON.stringify({ ...figures.cpuMsPerMessage, bareLoops: figures.bareCpuMsPerMessage }));
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
