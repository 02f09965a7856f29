/**
 * The reference exchange's handling of real envelopes in this process, without MQTT: each
 * batch of 42 (the size the drain's batches have) judged, recorded in its transaction and
 * answered, as `ExchangeHandlers.handleBatch` does; user and system CPU per message after a
 * warm-up of a fifth, per round (a fresh database each). For A/B comparisons of the
 * exchange's own code, run back to back.
 *
 * `node --import tsx scripts/bench/sync/exchange-handling.ts [messages] [rounds]` (3000, 3)
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../../src/clock.js';
import { Ed25519Signer, gatewayTopic, sealedCopy } from '../../../src/exchange-wire/index.js';
import { silentLogger } from '../../../src/log.js';
import { zeroCounters } from '../../../src/reference-exchange/counters.js';
import { ExchangeDb } from '../../../src/reference-exchange/db.js';
import { ExchangeHandlers } from '../../../src/reference-exchange/message-handlers.js';
import { openStore } from '../../../src/store/index.js';
import { contextKey, decodeOutboxSeal } from '../../../src/sync/outbox-seal.js';
import { IDENTITY, parties, prepareBacklog } from './fixtures.js';

const n = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const p = parties();
const backlog = prepareBacklog(p, n);
const store = openStore({ path: backlog.dbPath, clock: systemClock });
const ctx = contextKey({
  from: 'CTOP://KZ/DOSTYK/gw-dostyk-1',
  to: 'CTOP://KZ/EXCHANGE',
  replyTo: 'ctop/v1/KZ/DOSTYK/gw-dostyk-1/receipt',
});
const rows = store.outbox.claimDue(Date.now() + 1e9, n);
const topic = gatewayTopic(IDENTITY, 'manifest');
const msgs = rows.map((r) => {
  const s = decodeOutboxSeal(r.envelopeSeal, ctx)!;
  return { topic, payload: sealedCopy(s, r.payload!, Date.now(), 1), packet: {} as never };
});
store.close();
const cpu = () => {
  const u = process.cpuUsage();
  return { u: u.user / 1000, s: u.system / 1000 };
};
for (let round = 0; round < rounds; round++) {
  const db = new ExchangeDb(path.join(p.dir, `x-${round}.db`));
  const h = new ExchangeHandlers({
    client: { publish() {} } as never,
    db,
    trust: p.exchangeTrust,
    signer: new Ed25519Signer(p.exchangeKey),
    address: 'CTOP://KZ/EXCHANGE',
    protocolVersion: 5,
    maxResults: 64,
    stats: zeroCounters(),
    log: silentLogger,
    clock: systemClock,
  });
  const warm = Math.floor(n / 5);
  for (let i = 0; i < warm; i += 42) h.handleBatch(msgs.slice(i, Math.min(i + 42, warm)));
  const a = cpu();
  for (let i = warm; i < n; i += 42) h.handleBatch(msgs.slice(i, Math.min(i + 42, n)));
  const b = cpu();
  const m = n - warm;
  console.log(
    `round ${round}: user ${((b.u - a.u) / m).toFixed(4)} ms, system ${((b.s - a.s) / m).toFixed(4)} ms per message`,
  );
  db.db.close();
}
rmSync(p.dir, { recursive: true, force: true });
