/**
 * The main thread's CPU per message in a drain, by part: reads a `.cpuprofile` written by
 * scripts/bench/sync/profile-drain.ts and charges each sample to the nearest frame on its stack
 * that belongs to a part — the store (src/store and better-sqlite3, by file: `transaction.js` is
 * better-sqlite3's BEGIN and COMMIT around the store's own work), mqtt.js and mqtt-packet,
 * another dependency, a file of src/ — else to Node's own code; the garbage collector and idle
 * time as the profiler reports them.
 *
 * `node scripts/bench/sync/profile-parts.mjs FILE.cpuprofile [messages]` (messages in the
 * profiled window: profile-drain.ts profiles the last 80 % of the drain, 8000 of 10,000).
 */
import { readFileSync } from 'node:fs';

const [file, messagesArg = '8000'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-parts.mjs FILE.cpuprofile [messages]');
const messages = Number(messagesArg);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function part(id) {
  const own = byId.get(id).callFrame.functionName;
  if (own === '(idle)' || own === '(garbage collector)' || own === '(program)') return own;
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const url = byId.get(cur).callFrame.url;
    if (url.includes('/src/store/') || url.includes('better-sqlite3'))
      return `store (${url.split('/').at(-1)})`;
    if (url.includes('/src/')) return `src/${url.split('/src/')[1]}`;
    if (url.includes('node_modules/mqtt')) return 'mqtt.js';
    if (url.includes('node_modules/')) return url.split('node_modules/')[1].split('/')[0];
  }
  return 'node';
}

const micros = new Map();
profile.samples.forEach((id, i) => {
  const p = part(id);
  micros.set(p, (micros.get(p) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
});
let store = 0;
for (const [p, us] of micros) if (p.startsWith('store')) store += us;
for (const [p, us] of [...micros].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(`${(us / messages).toFixed(1).padStart(7)} µs a message  ${p}`);
console.log(`${(store / messages).toFixed(1).padStart(7)} µs a message  the store in all`);
