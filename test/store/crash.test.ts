import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { openStore } from '../../src/store/index.js';
import { built } from '../helpers/built.js';
import { TestLock, tempDir } from '../helpers/store.js';
import type { CrashFixture } from './fixtures/crash-ingester.js';

const CHILD = built('test/store/fixtures/crash-ingester.ts');
const ROOT = new URL('../../', import.meta.url).pathname;
const KILLS = Number(process.env.CTOP_CRASH_KILLS ?? 50);

interface Run {
  reported: Map<number, string>;
  sawReady: boolean;
}

/** Starts the ingester and SIGKILLs it `delayMs` after it is ready (or after spawn when `early`). */
function runAndKill(
  db: string,
  fixture: string,
  first: number,
  delayMs: number,
  early: boolean,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, db, fixture, String(first)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { reported: new Map(), sawReady: false };
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const kill = () => setTimeout(() => child.kill('SIGKILL'), delayMs);
    if (early) kill();
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') {
        run.sawReady = true;
        if (!early) kill();
        return;
      }
      const [word, n, uid] = line.split(' ');
      if (word === 'done') run.reported.set(Number(n), uid!);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`ingester ended by itself (${code}): ${stderr}`));
      else resolve(run);
    });
  });
}

/**
 * One database, killed `kills` times. Returns what was reported; fails the test at the first
 * restart that finds the database unsound or a reported read missing or doubled.
 */
async function killLoop(
  t: Test,
  db: string,
  fixture: string,
  kills: number,
): Promise<{ reported: Map<number, string>; duringWork: number }> {
  const reported = new Map<number, string>();
  let next = 0;
  let duringWork = 0;
  for (let kill = 1; kill <= kills; kill++) {
    // Now and then the kill lands during start-up (open, migration, recovery) instead.
    const early = kill % 10 === 3;
    const delay = early ? 50 + Math.floor(Math.random() * 600) : 10 + Math.floor(Math.random() * 190);
    const run = await runAndKill(db, fixture, next, delay, early);
    if (run.reported.size > 0) duringWork++;
    for (const [n, uid] of run.reported) reported.set(n, uid);
    // Continue after the last reported read: one committed but not yet reported is read
    // again and must be recognised as the same read.
    if (run.reported.size > 0) next = Math.max(...run.reported.keys()) + 1;
    if (!run.sawReady && kill === 1) continue;

    const store = openStore({ path: db });
    try {
      const integrity = store.integrityCheck();
      if (integrity.length !== 1 || integrity[0] !== 'ok') {
        t.fail(`integrity_check after kill ${kill}: ${integrity.join('; ')}`);
        break;
      }
      const counts = store.db.prepare('SELECT count(*) FROM lock_read WHERE read_uid = ?').pluck();
      const wrong = [...reported].filter(([, uid]) => counts.get(uid) !== 1);
      if (wrong.length > 0) {
        t.fail(`after kill ${kill}: reads not present exactly once: ${wrong.map(([n]) => n).join(', ')}`);
        break;
      }
    } finally {
      store.close();
    }
  }
  return { reported, duringWork };
}

t.test(
  `SIGKILL at random moments ${KILLS} times: the database stays sound and every reported read is there once`,
  async (t) => {
    // Two databases side by side, half the kills each: the same number of kills in half the time.
    const dir = tempDir(t);
    const fixture = path.join(dir, 'fixture.json');
    writeFileSync(fixture, JSON.stringify(makeFixture()));
    const lanes = [path.join(dir, 'a.db'), path.join(dir, 'b.db')];
    const results = await Promise.all(
      lanes.map((db, i) => killLoop(t, db, fixture, i === 0 ? Math.ceil(KILLS / 2) : Math.floor(KILLS / 2))),
    );
    const duringWork = results.reduce((n, r) => n + r.duringWork, 0);
    t.ok(duringWork >= KILLS * 0.6, `${duringWork} of ${KILLS} kills hit a process that was ingesting`);
    for (const [i, db] of lanes.entries()) {
      const { reported } = results[i]!;
      const store = openStore({ path: db });
      t.teardown(() => store.close());
      t.ok(reported.size > 50, `${path.basename(db)}: ${reported.size} reads reported complete`);
      const all = store.db.prepare('SELECT read_uid FROM lock_read').pluck().all() as string[];
      t.equal(new Set(all).size, all.length, 'no read stored twice');
      const unreported = all.filter((uid) => ![...reported.values()].includes(uid)).length;
      t.ok(unreported <= KILLS, `${unreported} committed but killed before reporting, at most one per kill`);
      t.equal(
        store.db.prepare('SELECT count(*) FROM manifest').pluck().get(),
        30,
        'one manifest per distinct bytes',
      );
      t.equal(
        store.db.prepare(`SELECT count(*) FROM outbox WHERE kind = 'manifest'`).pluck().get(),
        30,
        'each queued for the exchange once',
      );
      t.same(store.db.pragma('foreign_key_check'), []);
    }
  },
);

/** 8 locks with 3 signed events each, 30 manifests of 1–16 KiB. */
function makeFixture(): CrashFixture {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return {
    locks: Array.from({ length: 8 }, (_, k) => {
      const lock = new TestLock(`LK-${String(k).padStart(4, '0')}`, k + 1);
      lock.log(...[1, 2, 3].map((e) => ({ kind: e, time: 1_741_000_000 + e })));
      return {
        lockId: lock.lockId,
        identityKey: hex(lock.identityKey),
        events: lock.events.map((e) => ({
          counter: e.counter,
          time: e.time,
          kind: e.kind,
          detail: hex(e.detail),
          prev: hex(e.prev),
          sig: hex(e.sig),
          hash: hex(e.hash),
        })),
      };
    }),
    manifests: Array.from({ length: 30 }, (_, m) => {
      const bytes = Buffer.alloc(1024 + ((m * 977) % 15_000), m);
      bytes.write(`manifest ${m}`);
      return hex(bytes);
    }),
  };
}
