/**
 * Store benchmark (issue 5 item 8), each figure against a baseline measured in the same run:
 *
 * 1. ingest of lock reads carrying a fresh 16 KiB manifest, per second (one transaction
 *    each: lock, read, manifest, events, outbox rows; WAL, synchronous=FULL) vs a bare
 *    better-sqlite3 loop inserting one 16 KiB blob per transaction with the same pragmas;
 * 2. `ctop-agent manifests list` at 100,000 stored manifests, the command's own code in
 *    process (open, query, table, close) vs a bare SELECT of the same 100 rows on a fresh
 *    connection; goal < 200 ms. Also the whole command as a process vs `--version`;
 * 3. peak RSS of a process doing the daemon's store work on the 100,000-manifest store
 *    (open with quick_check, recover, status, list, claim 100, ingest 50, retention) vs
 *    the same work on an empty store; goal ≤ 100 MB. The process runs compiled JavaScript
 *    under plain node, as the daemon does (tsx alone adds ~40 MB): src/ and this file are
 *    transpiled into var/bench/store-build/ first.
 *
 * `npm run bench -- store`. BENCH_STORE_FILL (default 100000) manifests of
 * BENCH_STORE_BYTES (default 16384) bytes are stored first; the file is ~1.7 GB at the
 * defaults and is removed afterwards. The fill itself runs with synchronous=OFF in batches
 * of 1000 ingests (it is set-up, not a figure).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { silentLogger } from '../../src/log.js';
import { openStore, type ReadToRecord, type Store } from '../../src/store/index.js';
import { type BenchFigure, writeBenchResults } from './lib.js';

const FILL = Number(process.env.BENCH_STORE_FILL ?? 100_000);
const BYTES = Number(process.env.BENCH_STORE_BYTES ?? 16_384);
const MANIFEST = 16 * 1024;
const ROOT = new URL('../../', import.meta.url).pathname;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** 64 locks, each with a few events (random bytes: the store does not check signatures). */
const LOCKS = Array.from({ length: 64 }, (_, i) => ({
  lockId: `SSL-KZ-${String(i).padStart(6, '0')}`,
  identityKey: randomBytes(32),
  events: Array.from({ length: 3 }, (_, e) => ({
    counter: e + 1,
    time: 1_758_000_000 + e,
    kind: e + 1,
    detail: Buffer.alloc(0),
    prev: randomBytes(32),
    sig: randomBytes(64),
    hash: randomBytes(32),
  })),
}));

/** A complete, authenticated read of lock n % 64 carrying a manifest never seen before. */
function readOf(n: number, bytes: number, at: number): ReadToRecord {
  const lock = LOCKS[n % LOCKS.length]!;
  const manifest = randomBytes(bytes);
  const sha = createHash('sha256').update(manifest).digest();
  const container = `TGHU${String(n % 20_000).padStart(7, '0')}`;
  return {
    read: {
      gatewayId: 'gw-bench',
      transport: 'ble',
      endpoint: `c0:ff:ee:00:${(n % 256).toString(16).padStart(2, '0')}:01`,
      startedAt: at,
      finishedAt: at + 900,
      outcome: 'complete',
      authenticated: true,
      lock: {
        lockId: lock.lockId,
        identityKey: lock.identityKey,
        firmware: '1.4.2',
        battery: 80,
        sealState: 1,
        manifestSize: bytes,
        manifestSha256: sha,
        eventCount: 3,
        eventHead: lock.events[2]!.hash,
      },
      manifest,
      events: lock.events,
      chainProblems: [],
      stats: { bytesRead: bytes, frames: 40, retries: 0, resumes: 0, crcErrors: 0 },
    },
    inspection: {
      manifestId: sha.toString('hex'),
      size: bytes,
      verification: { status: 'valid', signerKid: 'kz-customs-signer-1' },
      routing: {
        lockId: lock.lockId,
        container,
        wagon: '42546184',
        train: `T${n % 500}`,
        departure: 'KOSTANAY',
        destination: 'URUMQI-N',
        departureCountry: 'KZ',
        destinationCountry: 'CN',
        createdAt: at - 86_400_000,
        signerKid: 'kz-customs-signer-1',
      },
    },
  };
}

/** Bare better-sqlite3: one 16 KiB blob per transaction, same journal and sync settings. */
function baselineInserts(file: string, count: number): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS blob (id TEXT PRIMARY KEY, bytes BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO blob (id, bytes) VALUES (?, ?)');
  const one = db.transaction((id: string, bytes: Buffer) => insert.run(id, bytes));
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(MANIFEST);
    one(createHash('sha256').update(bytes).digest('hex'), bytes);
  }
  const rate = (count * 1000) / (performance.now() - started);
  db.close();
  return rate;
}

function storeIngests(store: Store, first: number, count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) ingestRecord(store, readOf(first + i, MANIFEST, Date.now()));
  return (count * 1000) / (performance.now() - started);
}

/** `ctop-agent <args>` in this process, output swallowed; returns ms. */
async function cliInProcess(args: string[]): Promise<number> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  const started = performance.now();
  let code: number;
  try {
    // Imported here, not at the top: the RSS probe below must not load the whole CLI.
    const { main } = await import('../../src/cli/main.js');
    code = await main(['node', 'ctop-agent', ...args]);
  } finally {
    process.stdout.write = write;
  }
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`ctop-agent ${args.join(' ')} exited ${code}: ${out}`);
  return ms;
}

function bareList(file: string): number {
  const started = performance.now();
  const db = new Database(file, { readonly: true });
  db.prepare('SELECT * FROM manifest ORDER BY received_at DESC, manifest_id LIMIT 100').all();
  db.close();
  return performance.now() - started;
}

function cliProcess(args: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ctop-agent ${args.join(' ')}: ${r.stderr}`);
  return performance.now() - started;
}

/** Child mode: the daemon's store work on `file`; prints the peak RSS in bytes. */
function probe(file: string): void {
  const store = openStore({ path: file, trustOnFirstUse: true, log: silentLogger });
  store.outbox.recoverInFlight();
  store.outbox.status(Date.now());
  store.manifests.list();
  store.outbox.claimDue(Date.now(), 100);
  for (let i = 0; i < 50; i++) ingestRecord(store, readOf(10_000_000 + i, MANIFEST, Date.now()));
  store.retention();
  store.close();
  process.stdout.write(`${peakRssOfThisProcess()}\n`);
}

/**
 * VmHWM, the high-water mark of this process's own memory. Not `resourceUsage().maxRSS`:
 * Linux carries the parent's RSS at fork across exec into it, so a child of a big parent
 * would report the parent's size.
 */
function peakRssOfThisProcess(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (kb) return Number(kb[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Transpiles src/ and scripts/bench/ to plain JavaScript (no type check) for the RSS probe. */
async function transpile(): Promise<string> {
  // Imported here: the probe runs this same file and must not carry the compiler's memory.
  const ts = (await import('typescript')).default;
  const out = path.join(ROOT, 'var/bench/store-build');
  rmSync(out, { recursive: true, force: true });
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  for (const file of [...walk('src'), ...walk('scripts/bench')]) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(ROOT, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = path.join(out, file.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return path.join(out, 'scripts/bench/store.js');
}

function peakRss(compiled: string, file: string): number {
  const r = spawnSync(process.execPath, [compiled, '--probe', file], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctop-bench-store-'));
  try {
    // 1. Ingest rate, interleaved rounds so disk and CPU drift hit both sides alike.
    const ingestRates: number[] = [];
    const baseRates: number[] = [];
    const store = openStore({ path: path.join(dir, 'ingest.db'), trustOnFirstUse: true, log: silentLogger });
    for (let round = 0; round < 3; round++) {
      baseRates.push(baselineInserts(path.join(dir, 'baseline.db'), 300));
      ingestRates.push(storeIngests(store, round * 300, 300));
    }
    store.close();
    const ingest = median(ingestRates);
    const base = median(baseRates);

    // 2. Fill to FILL manifests, then list.
    const file = path.join(dir, 'full.db');
    const full = openStore({ path: file, trustOnFirstUse: true, log: silentLogger });
    full.db.pragma('synchronous = OFF');
    const fillStarted = performance.now();
    const t0 = Date.now() - FILL * 1000;
    const batch = full.db.transaction((from: number, to: number) => {
      for (let n = from; n < to; n++) ingestRecord(full, readOf(n, BYTES, t0 + n * 1000));
    });
    for (let n = 0; n < FILL; n += 1000) batch(n, Math.min(FILL, n + 1000));
    full.db.pragma('wal_checkpoint(TRUNCATE)');
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const stored = full.db.prepare('SELECT count(*) FROM manifest').pluck().get() as number;
    full.close();
    const dbBytes = statSync(file).size;
    console.log(
      `filled ${stored} manifests of ${BYTES} bytes in ${fillSeconds.toFixed(1)} s; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB`,
    );

    const cold = await cliInProcess(['manifests', 'list', '--db', file]);
    const listMs: number[] = [];
    const bareMs: number[] = [];
    const containerMs: number[] = [];
    for (let i = 0; i < 15; i++) {
      listMs.push(await cliInProcess(['manifests', 'list', '--db', file]));
      bareMs.push(bareList(file));
      containerMs.push(await cliInProcess(['manifests', 'list', '--db', file, '--container', 'TGHU0012345']));
    }
    const list = median(listMs);
    const bare = median(bareMs);
    const processMs = median([0, 1, 2].map(() => cliProcess(['manifests', 'list', '--db', file])));
    const versionMs = median([0, 1, 2].map(() => cliProcess(['--version'])));

    // 3. Peak RSS of the daemon's store work, full store vs empty store.
    const compiled = await transpile();
    const rssFull = peakRss(compiled, file);
    const rssEmpty = peakRss(compiled, path.join(dir, 'empty.db'));

    const MB = 2 ** 20;
    const figures: BenchFigure[] = [
      {
        name: 'ingest of a lock read with a 16 KiB manifest (one transaction, synchronous=FULL)',
        value: ingest,
        unit: 'reads/s',
        baseline: {
          name: 'bare better-sqlite3 16 KiB insert per transaction',
          value: base,
          unit: 'inserts/s',
        },
        ratio: ingest / base,
        ratioMeaning: 'store ingest rate ÷ bare insert rate',
      },
      {
        name: `manifests list (newest 100) at ${stored} stored, in process`,
        value: list,
        unit: 'ms',
        baseline: { name: 'bare SELECT of the same 100 rows on a fresh connection', value: bare, unit: 'ms' },
        ratio: list / bare,
        ratioMeaning: 'command time ÷ bare query time',
        goal: '< 200 ms',
        met: list < 200,
      },
      {
        name: `manifests list --container at ${stored} stored, in process`,
        value: median(containerMs),
        unit: 'ms',
        baseline: { name: 'bare SELECT of 100 rows on a fresh connection', value: bare, unit: 'ms' },
        ratio: median(containerMs) / bare,
        ratioMeaning: 'command time ÷ bare query time',
        goal: '< 200 ms',
        met: median(containerMs) < 200,
      },
      {
        name: `ctop-agent manifests list as a process at ${stored} stored`,
        value: processMs,
        unit: 'ms',
        baseline: {
          name: 'ctop-agent --version as a process (start-up alone)',
          value: versionMs,
          unit: 'ms',
        },
        ratio: processMs / versionMs,
        ratioMeaning: 'list process time ÷ start-up time',
      },
      {
        name: `peak RSS of the daemon's store work at ${stored} stored`,
        value: rssFull / MB,
        unit: 'MB',
        baseline: { name: 'the same work on an empty store', value: rssEmpty / MB, unit: 'MB' },
        ratio: rssFull / rssEmpty,
        ratioMeaning: 'peak RSS full ÷ peak RSS empty',
        goal: '≤ 100 MB',
        met: rssFull / MB <= 100,
      },
    ];
    writeBenchResults('store', figures, {
      fill: { manifests: stored, bytes: BYTES, seconds: fillSeconds, databaseBytes: dbBytes },
      listColdMs: cold,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--probe') probe(process.argv[3]!);
else await run();
