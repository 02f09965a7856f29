/**
 * Where the agent's CPU goes in the drain: process CPU (`process.cpuUsage`) spent inside the
 * store's transactions, inside each publish (envelope, signature, mqtt.js) and inside each
 * SQL statement, and each thread's CPU (/proc/self/task: the main thread against V8's GC
 * and compiler threads), over the drain of `messages` (measureDrain, as the bench runs it).
 * The wrappers cost ~1 µs a call: the parts are shares, not the bench's figure.
 *
 * `node --import tsx scripts/bench/sync/drain-parts.ts [messages]`
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Store } from '../../../src/store/store.js';
import { OutboxSender } from '../../../src/sync/sender.js';
import { measureDrain } from './drain.js';
import { parties, prepareBacklog } from './fixtures.js';

const messages = Number(process.argv[2] ?? 3000);
let on = false;
const parts = new Map<string, number>();
const add = (label: string, since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  parts.set(label, (parts.get(label) ?? 0) + u.user + u.system);
};

/** Counts the CPU of `proto[name]` calls under `label(this)`, outermost calls only. */
function measure(proto: object, name: string, label: (self: never) => string): void {
  const target = proto as Record<string, (...args: unknown[]) => unknown>;
  const original = target[name]!;
  let depth = 0;
  target[name] = function (this: never, ...args: unknown[]) {
    if (!on || depth > 0) return original.apply(this, args);
    depth++;
    const since = process.cpuUsage();
    try {
      return original.apply(this, args);
    } finally {
      depth--;
      add(label(this), since);
    }
  };
}

measure(Store.prototype, 'transaction', () => 'store transactions');
measure(OutboxSender.prototype, 'publish', () => 'publish (envelope, signature, mqtt.js)');
const statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as object;
for (const method of ['run', 'get', 'all'])
  measure(
    statement,
    method,
    (s: { source: string }) => `  SQL ${s.source.replace(/\s+/g, ' ').trim().slice(0, 60)}`,
  );

/** CPU ms of each thread of this process. */
function threads(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, (Number(f[11]) + Number(f[12])) * 10);
  }
  return out;
}

const p = parties();
try {
  const backlog = prepareBacklog(p, messages);
  let before = new Map<string, number>();
  let after = new Map<string, number>();
  const figures = await measureDrain(p, backlog, {
    start: async () => {
      before = threads();
      on = true;
    },
    stop: async () => {
      on = false;
      after = threads();
    },
  });
  const perMessage = (us: number) => `${(us / 1000 / messages).toFixed(3)} ms`;
  const { agent, barePublisher } = figures.cpuMsPerMessage;
  console.log(`agent ${agent.toFixed(3)} ms per message, bare publish ${barePublisher.toFixed(3)} ms`);
  for (const [label, us] of [...parts].sort((a, b) => b[1] - a[1]))
    console.log(`${perMessage(us)}  ${label}`);
  const main = String(process.pid);
  let others = 0;
  for (const [tid, ms] of after) if (tid !== main) others += ms - (before.get(tid) ?? 0);
  console.log(
    `threads: main ${perMessage(((after.get(main) ?? 0) - (before.get(main) ?? 0)) * 1000)}, the others ${perMessage(others * 1000)}`,
  );
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
