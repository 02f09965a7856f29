/**
 * How long V8's optimising compiler worked inside each measured drain window: reads the
 * output of `node --trace-opt --import tsx scripts/bench/sync/drain-runs.ts N D --mark` on
 * stdin and sums, per window, the three phases (prepare, execute, finalize) of every
 * "completed compiling" line between the window's markers. The execute phase runs on a
 * compiler thread and counts in the process's CPU time, the agent's figure.
 *
 * `node --trace-opt --import tsx scripts/bench/sync/drain-runs.ts 10000 4 --mark | node scripts/bench/sync/compile-time.mjs`
 */
import { createInterface } from 'node:readline';

const took = /completed compiling .* took ([\d.]+), ([\d.]+), ([\d.]+) ms/;
let window;
let index = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('--- measured window start')) window = { compiles: 0, ms: 0 };
  else if (line.startsWith('--- measured window end') && window) {
    console.log(`window ${index++}: ${window.compiles} compiles, ${window.ms.toFixed(0)} ms`);
    window = undefined;
  } else if (line.startsWith('{"drain"')) console.log(line);
  else if (window) {
    const m = took.exec(line);
    if (m) {
      window.compiles++;
      window.ms += Number(m[1]) + Number(m[2]) + Number(m[3]);
    }
  }
}
