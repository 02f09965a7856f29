/**
 * `npm run fuzz -- [--iterations N | --iterations name=N,…] [--target name…] [--seed S] [--out file]`
 *
 * Runs the fuzzing campaigns of scripts/fuzz/targets/ one after another, each in a worker
 * thread under a supervisor that (1) caps its heap (`--heap-mb`, default 1024: a decoder that
 * allocates without bound ends the worker with ERR_WORKER_OUT_OF_MEMORY), (2) ends it when
 * no case has finished for `--hang-ms` (default 30 000: an endless loop), saving the case
 * it was stuck in, and (3) samples the process's RSS for the peak. N is the number of
 * cases per target (default 10 000); `frame=300000,config=50000` sets it per target (the
 * config loader runs YAML at a few hundred cases a second, the frame codec at thousands). Findings are written to var/fuzz/ with the input that
 * reproduces each; the figures go to var/fuzz/report-<time>.json (or --out) and a Markdown
 * table is printed for docs/FUZZING.md. Exit 1 when any campaign found something.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { CampaignResult } from './lib/campaign.js';
import { CaseRecorder } from './lib/recorder.js';
import type { WorkerInput } from './lib/worker.js';
import { TARGETS } from './targets/index.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '10000' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
    out: { type: 'string' },
    'hang-ms': { type: 'string', default: '30000' },
    'case-limit-ms': { type: 'string', default: '2000' },
    'heap-mb': { type: 'string', default: '1024' },
    'heap-growth-mb': { type: 'string', default: '64' },
  },
});

const positive = (name: string, raw: string | undefined): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer, not ${raw}`);
    process.exit(2);
  }
  return n;
};
/** `N` for every target, or `name=N,…` (targets not named get 10 000). */
function parseIterations(raw: string): (target: string) => number {
  if (/^\d+$/.test(raw)) {
    const n = positive('iterations', raw);
    return () => n;
  }
  const perTarget = new Map<string, number>();
  for (const part of raw.split(',')) {
    const [name, n] = part.split('=');
    perTarget.set(name ?? '', positive(`iterations ${name}`, n));
  }
  return (target) => perTarget.get(target) ?? 10_000;
}
const iterationsFor = parseIterations(values.iterations ?? '10000');
const hangMs = positive('hang-ms', values['hang-ms']);
const caseLimitMs = positive('case-limit-ms', values['case-limit-ms']);
const heapMb = positive('heap-mb', values['heap-mb']);
const heapGrowthLimitMb = positive('heap-growth-mb', values['heap-growth-mb']);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : positive('seed', values.seed);
const selected = values.target?.length ? TARGETS.filter((t) => values.target!.includes(t.name)) : TARGETS;
const unknown = (values.target ?? []).filter((name) => !TARGETS.some((t) => t.name === name));
if (unknown.length > 0) {
  console.error(`unknown target ${unknown.join(', ')}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}

const outDir = path.resolve('var/fuzz');
mkdirSync(outDir, { recursive: true });

interface Supervised {
  result?: CampaignResult;
  /** Set when the supervisor had to end the worker: hang, out of memory, crash. */
  failure?: { message: string; input?: string; cases: number };
  peakRssMb: number;
  wallMs: number;
}

/** Runs one target in a worker and watches it. */
function supervise(target: string, targetSeed: number): Promise<Supervised> {
  const recorder = new CaseRecorder();
  const input: WorkerInput = {
    target,
    options: { iterations: iterationsFor(target), seed: targetSeed, caseLimitMs, heapGrowthLimitMb },
    record: recorder.buffer,
  };
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(new URL('./lib/worker.ts', import.meta.url).href)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), {
    workerData: input,
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  const started = Date.now();
  let peakRss = process.memoryUsage.rss();
  let lastStarted = 0;
  let lastMove = Date.now();
  let cases = 0;
  return new Promise((resolve) => {
    let settled: Supervised | undefined;
    const finish = (s: Omit<Supervised, 'peakRssMb' | 'wallMs'>) => {
      settled ??= { ...s, peakRssMb: Math.round(peakRss / 1024 / 1024), wallMs: Date.now() - started };
    };
    const timer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const now = recorder.started;
      if (now !== lastStarted) {
        lastStarted = now;
        lastMove = Date.now();
      } else if (Date.now() - lastMove > hangMs) {
        finish({
          failure: {
            message: `no case finished for ${hangMs} ms: a hang`,
            input: Buffer.from(recorder.current()).toString('base64'),
            cases,
          },
        });
        void worker.terminate();
      }
    }, 100);
    worker.on('message', (m: { type: string; progress?: { cases: number }; result?: CampaignResult }) => {
      if (m.type === 'progress') {
        cases = m.progress!.cases;
        if (cases % 20_000 === 0) process.stderr.write(`  ${target}: ${cases} cases\n`);
      } else if (m.type === 'done') finish({ result: m.result! });
    });
    worker.on('error', (err) => {
      finish({
        failure: {
          message: `worker died: ${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim(),
          input: Buffer.from(recorder.current()).toString('base64'),
          cases,
        },
      });
    });
    worker.on('exit', () => {
      clearInterval(timer);
      finish({ failure: { message: 'worker exited without a result', cases } });
      resolve(settled!);
    });
  });
}

const runs: (Supervised & { target: string; seed: number })[] = [];
console.log(
  `fuzzing ${selected.map((t) => `${t.name} (${iterationsFor(t.name)})`).join(', ')}: seed ${seed}, fast-check, ${os.cpus().length} CPUs, Node ${process.version}`,
);
for (const [i, target] of selected.entries()) {
  const targetSeed = seed + i * 1000;
  const run = await supervise(target.name, targetSeed);
  runs.push({ ...run, target: target.name, seed: targetSeed });
  const found = (run.result?.findings.length ?? 0) + (run.failure ? 1 : 0);
  console.log(
    `${target.name}: ${run.result?.cases ?? run.failure?.cases ?? 0} cases in ${(run.wallMs / 1000).toFixed(1)} s, ` +
      `slowest case ${run.result?.maxCaseMs ?? '?'} ms, heap ${run.result?.heapWarmMb ?? '?'} → ${run.result?.heapEndMb ?? '?'} MiB, ` +
      `peak RSS ${run.peakRssMb} MiB, ${found} finding${found === 1 ? '' : 's'}`,
  );
  for (const f of run.result?.findings ?? []) console.log(`  FINDING ${f.message.split('\n')[0]}`);
  if (run.failure) console.log(`  FINDING ${run.failure.message}`);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const report = {
  startedWith: {
    iterations: Object.fromEntries(selected.map((t) => [t.name, iterationsFor(t.name)])),
    seed,
    hangMs,
    caseLimitMs,
    heapMb,
    heapGrowthLimitMb,
  },
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    node: process.version,
    loadavg: os.loadavg(),
  },
  runs,
};
const reportFile = values.out ? path.resolve(values.out) : path.join(outDir, `report-${stamp}.json`);
writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
for (const run of runs) {
  const all = [
    ...(run.result?.findings ?? []).map((f) => ({ message: f.message, input: f.input })),
    ...(run.failure ? [run.failure] : []),
  ];
  all.forEach((f, i) => {
    if (f.input)
      writeFileSync(
        path.join(outDir, `finding-${run.target}-${run.seed}-${i}.bin`),
        Buffer.from(f.input, 'base64'),
      );
  });
}

const total = runs.reduce((n, r) => n + (r.result?.cases ?? r.failure?.cases ?? 0), 0);
const findings = runs.reduce((n, r) => n + (r.result?.findings.length ?? 0) + (r.failure ? 1 : 0), 0);
console.log(
  '\n| target | cases | time (s) | cases/s | slowest case (ms) | heap warm → end (MiB) | peak RSS (MiB) | findings |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of runs) {
  const x = r.result;
  console.log(
    `| ${r.target} | ${x?.cases ?? r.failure?.cases ?? 0} | ${(r.wallMs / 1000).toFixed(0)} | ${x?.casesPerSecond ?? '–'} | ${x?.maxCaseMs ?? '–'} | ${x ? `${x.heapWarmMb} → ${x.heapEndMb}` : '–'} | ${r.peakRssMb} | ${(x?.findings.length ?? 0) + (r.failure ? 1 : 0)} |`,
  );
}
console.log(
  `| **total** | **${total}** | ${(runs.reduce((n, r) => n + r.wallMs, 0) / 1000).toFixed(0)} | | | | ${Math.max(...runs.map((r) => r.peakRssMb))} | **${findings}** |`,
);
console.log(`\nreport: ${path.relative(process.cwd(), reportFile)}`);
process.exit(findings === 0 ? 0 : 1);
