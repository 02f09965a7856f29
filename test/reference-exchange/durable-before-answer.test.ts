import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { systemClock } from '../../src/clock.js';
import { ExchangeDb } from '../../src/reference-exchange/index.js';
import type { SyncEventMap } from '../../src/sync/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openTestStore } from '../helpers/store.js';
import { makeSyncWorld, seedOutbox, startEngine, waitFor } from '../helpers/sync-world.js';

const HOLDING = fileURLToPath(new URL('../helpers/exchange-variant-process.ts', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../scripts/exchange.ts', import.meta.url));

function spawnExchange(t: Test, args: string[]): { child: ChildProcess; stdout: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return { child, stdout: () => stdout };
}

t.test(
  'EXCHANGE.md §8: the exchange SIGKILLed between recording a message and publishing its receipt loses nothing',
  async (t) => {
    const broker = await startMosquitto(t);
    const world = makeSyncWorld(t);
    const db = path.join(world.dir, 'exchange.db');
    const files = [
      '--broker',
      broker.url,
      '--db',
      db,
      '--key',
      world.files.exchangeKey,
      '--trust',
      world.files.exchangeTrust,
    ];
    const holding = spawnExchange(t, [HOLDING, ...files, '--hold-first-receipt']);
    await waitFor(() => holding.stdout().includes('ready'), 30_000, 'the holding exchange to be ready');

    const { store } = openTestStore(t, { clock: systemClock });
    const ids = seedOutbox(store, 5);
    const engine = await startEngine(t, world, store, [broker.url]);
    const receipts: SyncEventMap['receipt'][0][] = [];
    engine.on('receipt', (r) => receipts.push(r));
    await waitFor(
      () => holding.stdout().includes('held '),
      30_000,
      'the first receipt to be about to go out',
    );
    const held = JSON.parse(/held (.*)\n/.exec(holding.stdout())![1]!) as {
      messageId: string;
      status: string;
      recorded: boolean;
    }[];
    t.ok(held.length > 0, `${held.length} results in the held receipt`);
    t.ok(
      held.every((r) => r.status === 'accepted' && r.recorded),
      'every message the receipt accepts is already committed when the receipt is about to be published',
    );
    const died = new Promise((resolve) => holding.child.once('exit', resolve));
    holding.child.kill('SIGKILL');
    await died;
    t.equal(receipts.length, 0, 'no receipt left the killed exchange');
    t.ok(
      ids.every((id) => store.outbox.get(id)!.state !== 'acknowledged'),
      'nothing is settled at the gateway',
    );
    const afterKill = new ExchangeDb(db);
    const recorded = new Map(afterKill.all().map((m) => [m.messageId, m.receivedAt]));
    afterKill.close();
    t.ok(
      held.every((r) => recorded.has(r.messageId)),
      'the records survived the SIGKILL',
    );

    // The real reference exchange on the same database: the gateway's resends are duplicates.
    const again = spawnExchange(t, [SCRIPT, ...files, '--report', '0']);
    await waitFor(() => again.stdout().includes('ready'), 30_000, 'the exchange to be back');
    await waitFor(
      () => ids.every((id) => store.outbox.get(id)!.state === 'acknowledged'),
      30_000,
      'every row acknowledged after the restart',
    );
    for (const { messageId } of held) {
      const r = receipts.find((x) => x.messageId === messageId);
      t.equal(r?.duplicate, true, `${messageId.slice(9, 17)}… answered as a duplicate of the record`);
    }
    const stopped = new Promise((resolve) => again.child.once('exit', resolve));
    again.child.kill('SIGTERM');
    await stopped;
    const final = new ExchangeDb(db);
    t.teardown(() => final.close());
    const all = final.all();
    // The seeded rows, and an outage report if the silent exchange made one: each recorded once.
    t.ok(
      ids.every((id) => all.some((m) => m.messageId === store.outbox.get(id)!.messageId)),
      'every seeded row is recorded: nothing lost',
    );
    t.ok(
      all.every((m) => store.outbox.findByMessageId(m.messageId)?.state === 'acknowledged'),
      'every record is a row of this gateway, settled',
    );
    t.equal(
      new Set(all.map((m) => m.payloadSha256.toString('hex'))).size,
      all.length,
      `${all.length} records, each content once: nothing twice`,
    );
    for (const { messageId } of held)
      t.equal(
        all.find((m) => m.messageId === messageId)?.receivedAt,
        recorded.get(messageId),
        'the first receivedAt kept',
      );
  },
);
