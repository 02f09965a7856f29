/**
 * The drain alone, profiled: the agent's CPU profile covers the drain only (not the
 * making of the backlog nor the bare loops); BENCH_CHILD_CPU_PROF profiles the exchange
 * process (its whole life, mostly the drain).
 *
 * `BENCH_CHILD_CPU_PROF=DIR node --import tsx scripts/bench/sync/profile-drain.ts [messages] [DIR]`
 */
import { rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { measureDrain } from './drain.js';
import { parties, prepareBacklog } from './fixtures.js';

const messages = Number(process.argv[2] ?? 2000);
const dir = process.argv[3] ?? process.env.BENCH_CHILD_CPU_PROF ?? '.';
const p = parties();
const session = new Session();
session.connect();
try {
  const backlog = prepareBacklog(p, messages);
  const figures = await measureDrain(p, backlog, {
    start: async () => {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    },
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(path.join(dir, `agent-drain-${process.pid}.cpuprofile`), JSON.stringify(profile));
    },
  });
  console.log(JSON.stringify({ ...figures.cpuMsPerMessage, agentSystemShare: figures.agentSystemShare }));
} finally {
  session.disconnect();
  rmSync(p.dir, { recursive: true, force: true });
}
