/**
 * Sync settings compared on the bench's drain: alternating drains of one backlog (A B, B A,
 * …; measureDrain gives each a fresh exchange database), each variant's agent CPU per message, its ratio
 * to the bare publisher measured in the same drain, and the exchange's CPU, with their means.
 * This machine's pace moves by a third between consecutive runs; alternation spreads it over
 * both variants.
 *
 * `node --import tsx scripts/bench/sync/drain-ab.ts [messages] [rounds] [A-json] [B-json]`
 * e.g. `… 5000 4 '{"maxInFlight":256,"claimBatch":64}' '{}'` (the defaults against 256/64)
 */
import { rmSync } from 'node:fs';
import type { SyncConfig } from '../../../src/sync/index.js';
import { measureDrain } from './drain.js';
import { median, parties, prepareBacklog } from './fixtures.js';

const messages = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 4);
const variants = [process.argv[4] ?? '{"maxInFlight":256,"claimBatch":64}', process.argv[5] ?? '{}'].map(
  (json) => ({
    json,
    sync: JSON.parse(json) as Partial<SyncConfig>,
    agent: [] as number[],
    ratio: [] as number[],
    exchange: [] as number[],
  }),
);
const p = parties();
try {
  const backlog = prepareBacklog(p, messages);
  for (let round = 0; round < rounds; round++) {
    for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
      const f = await measureDrain(p, backlog, {}, v.sync);
      const { agent, exchange, barePublisher } = f.cpuMsPerMessage;
      v.agent.push(agent);
      v.ratio.push(agent / barePublisher);
      v.exchange.push(exchange);
      console.log(
        `${v.json}: agent ${agent.toFixed(3)} ms, bare ${barePublisher.toFixed(3)} ms (${(agent / barePublisher).toFixed(2)}×), exchange ${exchange.toFixed(3)} ms`,
      );
    }
  }
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  for (const v of variants)
    console.log(
      `${v.json}: agent mean ${mean(v.agent).toFixed(3)} ms (median ${median(v.agent).toFixed(3)}), ratio mean ${mean(v.ratio).toFixed(2)}×, exchange mean ${mean(v.exchange).toFixed(3)} ms`,
    );
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
