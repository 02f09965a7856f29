/**
 * Drains of the backlog and nothing else (no train): the CPU figures per message of
 * `npm run bench -- drain-under-train` (b, c) in about a minute each, for runs back to back to
 * see how far this machine's pace moves them. `drains` > 1 drains the same backlog again in
 * this process (each with a fresh agent database, broker and exchange), to see whether later
 * drains, with the code already optimised, differ from the first.
 *
 * `node --import tsx scripts/bench/sync/drain-runs.ts [messages] [drains] [--mark]`
 * (default 10000, 1). `--mark` prints a line at the start and the end of each drain's measured
 * window, for `node --trace-opt … --mark | node scripts/bench/sync/compile-time.mjs`.
 */
import { rmSync } from 'node:fs';
import { measureDrain } from './drain.js';
import { parties, prepareBacklog } from './fixtures.js';

const args = process.argv.slice(2).filter((a) => a !== '--mark');
const mark = process.argv.includes('--mark');
const messages = Number(args[0] ?? 10_000);
const drains = Number(args[1] ?? 1);

const p = parties();
try {
  const backlog = prepareBacklog(p, messages);
  for (let drain = 0; drain < drains; drain++) {
    const figures = await measureDrain(
      p,
      backlog,
      mark
        ? {
            start: async () => console.log('--- measured window start'),
            stop: async () => console.log('--- measured window end'),
          }
        : {},
    );
    const { agent, barePublisher } = figures.cpuMsPerMessage;
    console.log(
      JSON.stringify({
        drain,
        ...figures.cpuMsPerMessage,
        ratio: Number((agent / barePublisher).toFixed(2)),
        bareLoops: figures.bareCpuMsPerMessage,
      }),
    );
  }
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
