/**
 * Where a link's time goes while a train passes: the train-speed bench's train (110 locks,
 * 16 KiB manifests, 5 % loss, 0.05 disconnects/s, 8 connections of which the reader holds 4,
 * seed 17, time scale 4) at one speed, every link the reader opens timed step by step on the
 * simulated clock — connection, GATT set-up, HELLO, AUTH, manifest, event log and BYE — and
 * the links that ended without a read, with the step they ended in.
 *
 * `node --import tsx scripts/bench/train/read-phases.ts [km/h] [links]`
 */
import type { ReadPhase } from '../../../src/lock/reader.js';
import { TrainReader } from '../../../src/train/train-reader.js';
import { readPassingTrain, speedTrain, watchAttempts } from './speed-train.js';

const kmh = Number(process.argv[2] ?? 60);
const links = Number(process.argv[3] ?? 4);
const { train, clock, radio } = await speedTrain(kmh);

/** One link: when its attempt went out, when it connected, each step of the read on it. */
interface Link {
  outAt?: number;
  connectedAt?: number;
  steps: { phase: ReadPhase; at: number }[];
  /** How the read on it ended: done, or the error that ended the link. */
  end?: string;
}
const all: Link[] = [];
/** Attempts from the Filter Accept List that connected none of the locks listed (given up or timed out). */
let unanswered = 0;
const current = new Map<string, Link>();
watchAttempts(radio, clock, {
  asked: (address) => {
    const link: Link = { steps: [] };
    all.push(link);
    current.set(address, link);
  },
  out: (address, at) => {
    current.get(address)!.outAt = at;
  },
  over: (address, connected, at) => {
    if (connected) current.get(address)!.connectedAt = at;
  },
  unanswered: () => {
    unanswered++;
  },
});

const reader = new TrainReader({
  radio,
  gatewayId: 'BENCH',
  maxConcurrent: links,
  manifestsAtOnce: Number(process.argv[4] ?? 2),
  ...(process.env.WEAK_DBM ? { weakRssiDbm: Number(process.env.WEAK_DBM) } : {}),
  expected: 110,
  clock,
  onReadProgress: (address, p) => {
    const link = current.get(address);
    if (!link || link.steps.at(-1)?.phase === p.phase) return;
    link.steps.push({ phase: p.phase, at: clock.monotonic() });
    if (p.phase === 'done' || p.phase === 'failed' || p.phase === 'retrying') {
      link.end ??= p.phase === 'done' ? 'done' : (p.error?.code ?? p.phase);
    }
  },
});
const summary = await readPassingTrain(reader, radio, train);

const linked = all.filter((l) => l.connectedAt !== undefined);
const read = linked.filter((l) => l.end === 'done');
const at = (l: Link, phase: ReadPhase) => l.steps.find((s) => s.phase === phase)?.at;
const spans = (xs: (number | undefined)[]) =>
  xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
function row(name: string, xs: number[]): void {
  const q = (p: number) => (xs.length ? xs[Math.floor(p * (xs.length - 1))]!.toFixed(0) : '–');
  const total = xs.reduce((s, x) => s + x, 0) / 1000;
  console.log(
    `  ${name.padEnd(26)} ${String(xs.length).padStart(4)} links  median ${q(0.5).padStart(5)} ms  ` +
      `p10 ${q(0.1).padStart(5)}  p90 ${q(0.9).padStart(5)}  link time ${total.toFixed(1).padStart(5)} s`,
  );
}

console.log(
  `${kmh} km/h, ${links} links: read ${summary.read} of 110; ${all.length} connection attempts, ${linked.length} connected; ` +
    `${unanswered} attempts from the Filter Accept List connected none`,
);
row(
  'connect (request → link)',
  spans(linked.map((l) => (l.outAt === undefined ? undefined : l.connectedAt! - l.outAt))),
);
row('GATT set-up', spans(linked.map((l) => (at(l, 'hello') ?? Number.NaN) - l.connectedAt!)));
row('HELLO', spans(read.map((l) => at(l, 'auth')! - at(l, 'hello')!)));
row('AUTH', spans(read.map((l) => (at(l, 'manifest') ?? at(l, 'events')!) - at(l, 'auth')!)));
row('manifest', spans(read.map((l) => at(l, 'events')! - (at(l, 'manifest') ?? at(l, 'events')!))));
row('event log and BYE', spans(read.map((l) => at(l, 'done')! - at(l, 'events')!)));
row('a read, connected → done', spans(read.map((l) => at(l, 'done')! - l.connectedAt!)));
const lost = linked.filter((l) => l.end !== 'done');
row(
  'links that read nothing',
  spans(lost.map((l) => (l.steps.at(-1)?.at ?? l.connectedAt!) - l.connectedAt!)),
);
const lastStep = new Map<string, number>();
for (const l of lost) {
  // The step the link was in when it ended: the last before the read gave it up.
  const before = l.steps.filter((s) => !['retrying', 'failed', 'connecting'].includes(s.phase)).at(-1);
  const key = `${before?.phase ?? 'GATT set-up'} → ${l.end ?? 'still open'}`;
  lastStep.set(key, (lastStep.get(key) ?? 0) + 1);
}
console.log(
  `  ended without a read: ${[...lastStep]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} in ${k}`)
    .join(', ')}`,
);
const why = new Map<string, number>();
for (const f of summary.failed) {
  const key = f.message.replace(/SSL-SPEED-\d+/g, 'L').replace(/\d+(\.\d+)?/g, '#');
  why.set(key, (why.get(key) ?? 0) + 1);
}
console.log(`  locks not read (${summary.failed.length} failed, ${summary.missing} never heard):`);
for (const [k, n] of [...why].sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(3)}  ${k}`);
