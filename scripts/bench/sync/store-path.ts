/**
 * The drain's store work alone, without broker, exchange or network: a backlog of `rows` signed
 * manifests claimed `batch` at a time and each batch settled by one receipt, both in the
 * sync's resendable transactions, as a drain does. Prints, per round (each on a fresh copy of
 * the backlog, checkpoints as the store makes them), the CPU per row of the claims and of the
 * settlements (`process.cpuUsage`); then, from one more pass with the automatic checkpoint held
 * off so the WAL only grows, the frames one claim and one settlement append.
 *
 * `node --import tsx scripts/bench/sync/store-path.ts [rows] [rounds] [batch]` (8000, 4, 180;
 * the bench's drain claims ~180 a time). Its spread between rounds is this machine's.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, rmSync, statSync } from 'node:fs';
import { systemClock } from '../../../src/clock.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { parties, prepareBacklog } from './fixtures.js';

const rows = Number(process.argv[2] ?? 8000);
const rounds = Number(process.argv[3] ?? 4);
const batch = Number(process.argv[4] ?? 180);
/** Bytes of one WAL frame of a 4 KiB page: a 24-byte header and the page. */
const FRAME = 24 + 4096;

const micros = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};

function drain(
  store: Store,
  walPath: string,
): { claim: number; settle: number; claimFrames: number; settleFrames: number } {
  const wal = () => statSync(walPath, { throwIfNoEntry: false })?.size ?? 0;
  let claimUs = 0;
  let settleUs = 0;
  let claimBytes = 0;
  let settleBytes = 0;
  let n = 0;
  let batches = 0;
  for (;;) {
    let before = wal();
    let since = process.cpuUsage();
    const claimed = store.resendableTransaction(() => store.outbox.claimDue(Date.now() + 1e9, batch));
    claimUs += micros(since);
    claimBytes += wal() - before;
    if (claimed.length === 0) break;
    n += claimed.length;
    batches++;
    const receipt = { bytes: randomBytes(300), at: Date.now() };
    before = wal();
    since = process.cpuUsage();
    store.resendableTransaction(() =>
      store.outbox.settle(
        receipt,
        claimed.map((c) => ({ id: c.id, status: 'accepted' as const })),
      ),
    );
    settleUs += micros(since);
    settleBytes += wal() - before;
  }
  if (n !== rows) throw new Error(`claimed ${n} of ${rows} rows`);
  return {
    claim: claimUs / n,
    settle: settleUs / n,
    claimFrames: claimBytes / FRAME / batches,
    settleFrames: settleBytes / FRAME / batches,
  };
}

const p = parties();
try {
  const backlog = prepareBacklog(p, rows);
  const copy = `${backlog.dbPath}.store-path`;
  console.log(`${rows} rows, ${batch} a claim, CPU per row:`);
  const pass = (countFrames: boolean) => {
    copyFileSync(backlog.dbPath, copy);
    const store = openStore({ path: copy, clock: systemClock });
    try {
      if (countFrames) store.db.pragma('wal_autocheckpoint = 0');
      return drain(store, `${copy}-wal`);
    } finally {
      store.close();
      rmSync(copy, { force: true });
    }
  };
  for (let round = 0; round < rounds; round++) {
    const r = pass(false);
    console.log(
      `  round ${round + 1}: claim ${r.claim.toFixed(1)} µs, settle ${r.settle.toFixed(1)} µs, sum ${(r.claim + r.settle).toFixed(1)} µs`,
    );
  }
  const f = pass(true);
  console.log(`  WAL frames: ${f.claimFrames.toFixed(1)} a claim, ${f.settleFrames.toFixed(1)} a settlement`);
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
