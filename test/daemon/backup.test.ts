import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openStore, type Store } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { assertExactlyOnce, seedOutbox, startTestExchange, waitFor } from '../helpers/sync-world.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { makeDaemonWorld, startDaemon } from './world.js';

/**
 * `ctop-agent backup` while the daemon drains its outbox, `ctop-agent restore` refused while
 * the daemon holds the database, and a gateway rebuilt from the backup that resumes the
 * outbox: every message at the exchange once, under the messageIds the gateway recorded.
 */

function counts(file: string) {
  const store = openStore({ path: file, create: false, quickCheck: false });
  try {
    return store.outbox.status(Date.now()).counts;
  } finally {
    store.close();
  }
}

function seed(file: string, rows: number, tag: string): void {
  const store = openStore({ path: file, quickCheck: false });
  try {
    seedOutbox(store, rows, { tag, size: 200 });
  } finally {
    store.close();
  }
}

function drained(file: string): () => boolean {
  return () => {
    const c = counts(file);
    return c.queued + c.in_flight === 0;
  };
}

t.test(
  'a backup taken during a drain restores on a new gateway, which resumes the outbox: nothing lost, nothing twice',
  async (t) => {
    const world = makeDaemonWorld(t);
    const broker = await startMosquitto(t);
    const proxy = await TcpProxy.start(broker.port);
    t.teardown(() => proxy.close());
    let dropping = false;
    // While `dropping`, the exchange records each message but its receipt is lost: the
    // gateway keeps those rows unacknowledged and sends them again — a drain in progress.
    const exchange = await startTestExchange(t, world, broker.url, {
      faults: { dropReceipt: () => dropping },
    });
    seed(world.dbPath, 100, 'settled');
    // A long outage grace: the cut below must not add outage reports to the messages counted.
    const overrides = { serial: { ports: [] }, sync: { outageGraceMs: 3_600_000 } };
    const first = startDaemon(t, world.writeConfig(proxy.url, overrides));
    await first.ready(120_000);
    await waitFor(drained(world.dbPath), 120_000, 'the first 100 rows acknowledged', 100);

    // 100 rows reach the exchange but their receipts are lost; then the link goes and 50
    // more rows (added while the daemon runs, as `ctop-agent pair` adds them) cannot leave.
    dropping = true;
    seed(world.dbPath, 100, 'unanswered');
    await waitFor(() => exchange.stats.accepted >= 200, 120_000, 'the exchange to record the next 100');
    proxy.refuse();
    proxy.cut();
    seed(world.dbPath, 50, 'never-sent');

    const backupFile = path.join(world.dir, 'backups', 'gw.backup');
    mkdirSync(path.dirname(backupFile), { mode: 0o700 });
    const backup = await runCli(['backup', '--db', world.dbPath, '--out', backupFile, '--json']);
    t.equal(backup.code, 0, `backup exit 0 (stderr: ${backup.stderr})`);
    const summary = JSON.parse(backup.stdout) as {
      integrity: string;
      outbox: { queued: number; in_flight: number; acknowledged: number; rejected: number };
    };
    t.equal(summary.integrity, 'ok', 'the copy passed integrity_check');
    t.equal(summary.outbox.acknowledged, 100, 'the backup holds the 100 acknowledged rows');
    t.equal(
      summary.outbox.queued + summary.outbox.in_flight,
      150,
      `and 150 waiting for a receipt (${summary.outbox.queued} queued, ${summary.outbox.in_flight} in flight)`,
    );
    t.equal(statSync(backupFile).mode & 0o777, 0o600, 'the backup is owner-only');

    const refused = await runCli(['restore', backupFile, '--db', world.dbPath, '--force']);
    t.equal(refused.code, 8, 'restore over the running daemon: exit 8 (store)');
    t.match(refused.stderr, /E_STORE_IN_USE: .* is open in another process/);
    t.equal(first.child.exitCode, null, 'the daemon runs on, unaffected');

    // The old gateway is lost for good (SIGKILL, no goodbye).
    t.same(await first.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
    t.equal(exchange.stats.accepted, 200, 'the exchange holds 200 messages, 100 of them unanswered');

    // A new gateway: a fresh data directory, the last backup restored into it.
    const fresh = path.join(world.dir, 'new-gateway', 'ctop-agent.db');
    const restored = await runCli(['restore', backupFile, '--db', fresh]);
    t.equal(restored.code, 0, `restore exit 0 (stderr: ${restored.stderr})`);
    t.match(restored.stdout, /100 acknowledged/);
    t.equal(statSync(fresh).mode & 0o777, 0o600, 'the restored database is owner-only');

    dropping = false;
    const resendsBefore = exchange.stats.duplicates;
    const second = startDaemon(t, world.writeConfig(broker.url, { ...overrides, store: { path: fresh } }));
    await second.ready(120_000);
    await waitFor(drained(fresh), 120_000, 'the restored gateway to settle its outbox', 100);
    t.same(await second.stop('SIGTERM'), { code: 0, signal: null });

    t.ok(
      exchange.stats.duplicates - resendsBefore >= 100,
      `the 100 unanswered rows were sent again and recognised (${exchange.stats.duplicates - resendsBefore} duplicates answered)`,
    );
    t.equal(exchange.stats.accepted, 250, 'the 50 never sent arrived: 250 at the exchange, none twice');
    const store: Store = openStore({ path: fresh, create: false });
    t.teardown(() => store.close());
    t.same(store.outbox.status(Date.now()).counts, {
      queued: 0,
      in_flight: 0,
      acknowledged: 250,
      rejected: 0,
    });
    assertExactlyOnce(t, store, exchange);
  },
);
