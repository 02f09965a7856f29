/**
 * What a claim costs per row, and how much of it is reading the manifest the row carries:
 * a backlog of `rows` 8 KiB manifests (as the sync bench fills it) claimed 64 at a time
 * through the store, as the sync claims it; then the manifests' bytes of the same rows read
 * alone, their lengths alone (read from the record header: no overflow page), and the bytes again with
 * memory-mapped reads (`mmap_size`, which the store does not use: an I/O error on a mapped
 * page is SIGBUS, not an error). Process CPU per row (`process.cpuUsage`), best of `rounds`.
 *
 * `node --import tsx scripts/bench/sync/claim-cost.ts [rows] [rounds]`
 */
import { copyFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { systemClock } from '../../../src/clock.js';
import { openStore } from '../../../src/store/index.js';
import { parties, prepareBacklog } from './fixtures.js';

const rows = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 3);
const BATCH = 64;

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};

const p = parties();
try {
  const backlog = prepareBacklog(p, rows);
  const copy = `${backlog.dbPath}.claim`;

  const claim = (): number => {
    copyFileSync(backlog.dbPath, copy);
    const store = openStore({ path: copy, clock: systemClock });
    try {
      const since = process.cpuUsage();
      let claimed = 0;
      for (;;) {
        let got = 0;
        store.transaction(() => {
          got = store.outbox.claimDue(Date.now() + 1e9, BATCH).length;
        });
        if (got === 0) break;
        claimed += got;
      }
      if (claimed !== rows) throw new Error(`claimed ${claimed} of ${rows} rows`);
      return cpuMicros(since) / claimed;
    } finally {
      store.close();
    }
  };

  const read = (column: 'p.bytes' | 'length(p.bytes)', mmap: boolean): number => {
    const db = new Database(backlog.dbPath, { readonly: true });
    try {
      if (mmap) db.pragma('mmap_size = 268435456');
      const ids = db.prepare('SELECT outbox_id FROM outbox ORDER BY outbox_id').pluck().all() as number[];
      const select = db.prepare(
        `SELECT ${column} FROM outbox o JOIN manifest_payload p ON p.manifest_id = o.manifest_id
         WHERE o.outbox_id IN (SELECT value FROM json_each(?))`,
      );
      const since = process.cpuUsage();
      let bytes = 0;
      for (let off = 0; off < ids.length; off += BATCH)
        for (const r of select.raw().all(JSON.stringify(ids.slice(off, off + BATCH))) as [Buffer | number][])
          bytes += typeof r[0] === 'number' ? r[0] : r[0].length;
      if (bytes === 0) throw new Error('no manifest bytes read');
      return cpuMicros(since) / ids.length;
    } finally {
      db.close();
    }
  };

  const best = (f: () => number) => Math.min(...Array.from({ length: rounds }, f));
  const figures = {
    claim: best(claim),
    payloadRead: best(() => read('p.bytes', false)),
    lengthOnly: best(() => read('length(p.bytes)', false)),
    payloadReadMmap: best(() => read('p.bytes', true)),
  };
  const us = (x: number) => `${x.toFixed(1)} µs`;
  console.log(`${rows} rows, ${BATCH} per claim, CPU per row, best of ${rounds}:`);
  console.log(`  claimDue through the store       ${us(figures.claim)}`);
  console.log(`  the manifests' bytes read alone  ${us(figures.payloadRead)}`);
  console.log(`  their lengths alone              ${us(figures.lengthOnly)}`);
  console.log(`  the bytes with mmap_size         ${us(figures.payloadReadMmap)}`);
  console.log(
    `  payload copy (bytes − lengths)   ${us(figures.payloadRead - figures.lengthOnly)} = ${((100 * (figures.payloadRead - figures.lengthOnly)) / figures.claim).toFixed(0)} % of the claim`,
  );
} finally {
  rmSync(p.dir, { recursive: true, force: true });
}
