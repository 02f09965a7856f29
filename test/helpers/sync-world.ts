/**
 * The parties of a sync test: gateway and exchange keys made at test time, the trust
 * store each side holds, a configuration with short timeouts, the reference exchange on a
 * broker, and outbox rows to drain.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { encodeCanonical } from '../../src/cbor/index.js';
import type { Clock } from '../../src/clock.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { generateKey, type PrivateKey, publicPart, TrustStore, writeKeyPair } from '../../src/keys/index.js';
import type { Logger } from '../../src/log.js';
import { inspectManifest } from '../../src/manifest/index.js';
import { type Exchange, type ExchangeOptions, startExchange } from '../../src/reference-exchange/index.js';
import type { ReadToRecord, Store } from '../../src/store/index.js';
import { type SyncConfig, SyncEngine } from '../../src/sync/index.js';
import { net } from './patience.js';
import { TestLock } from './store.js';
import { FIXTURE_MANIFESTS_DIR, FIXTURE_TRUST_STORE } from './test-keys.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export const IDENTITY = { country: 'KZ', checkpoint: 'DOSTYK', gatewayId: 'gw-dostyk-1' } as const;
export const EXCHANGE_ADDRESS = 'CTOP://KZ/EXCHANGE';

export interface SyncWorld {
  dir: string;
  gatewayKey: PrivateKey;
  exchangeKey: PrivateKey;
  /** The gateway's: customs signers (fixtures) and the exchange key. */
  agentTrust: TrustStore;
  /** The exchange's: customs signers (fixtures) and the gateway keys. */
  exchangeTrust: TrustStore;
  /** Files for child processes. */
  files: { gatewayKey: string; exchangeKey: string; agentTrust: string; exchangeTrust: string };
  /** Another gateway's key (registered at the exchange too). */
  gatewayKeyFor(gatewayId: string): PrivateKey;
}

export function makeSyncWorld(t: Teardown): SyncWorld {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctop-sync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gatewayKey = generateKey('gateway', IDENTITY.gatewayId, { country: 'KZ' });
  const exchangeKey = generateKey('exchange', 'kz-exchange-1', { country: 'KZ' });
  const agentTrust = TrustStore.load(FIXTURE_TRUST_STORE);
  agentTrust.add(publicPart(exchangeKey));
  const exchangeTrust = TrustStore.load(FIXTURE_TRUST_STORE);
  exchangeTrust.add(publicPart(gatewayKey));
  const keysDir = path.join(dir, 'keys');
  const files = {
    gatewayKey: writeKeyPair(keysDir, gatewayKey).privateKey,
    exchangeKey: writeKeyPair(keysDir, exchangeKey).privateKey,
    agentTrust: path.join(dir, 'agent-trust.json'),
    exchangeTrust: path.join(dir, 'exchange-trust.json'),
  };
  agentTrust.save(files.agentTrust);
  exchangeTrust.save(files.exchangeTrust);
  const others = new Map<string, PrivateKey>();
  return {
    dir,
    gatewayKey,
    exchangeKey,
    agentTrust,
    exchangeTrust,
    files,
    gatewayKeyFor(gatewayId) {
      let key = others.get(gatewayId);
      if (!key) {
        key = generateKey('gateway', gatewayId, { country: 'KZ' });
        exchangeTrust.add(publicPart(key));
        others.set(gatewayId, key);
      }
      return key;
    },
  };
}

/**
 * A configuration with timeouts short enough for tests. Not the keepalive and the connect
 * timeout, though: a loaded machine can hold a process or mosquitto for seconds, and a 2 s
 * keepalive then breaks a healthy link (an outage more than the test made). Tests of the
 * keepalive itself set their own.
 */
export function testSyncConfig(brokers: string[], overrides: Partial<SyncConfig> = {}): SyncConfig {
  return {
    ...IDENTITY,
    brokers,
    exchangeAddress: EXCHANGE_ADDRESS,
    keepaliveSeconds: 10,
    connectTimeoutMs: 10_000,
    reconnectDelayMs: 200,
    receiptTimeoutMs: 1500,
    pollIntervalMs: 100,
    outageGraceMs: 0,
    stopTimeoutMs: 1000,
    queryTimeoutMs: 3000,
    ...overrides,
  };
}

/** The reference exchange on `brokerUrl` with its database in the world's directory; stopped in teardown. */
export async function startTestExchange(
  t: Teardown,
  world: SyncWorld,
  brokerUrl: string,
  overrides: Partial<ExchangeOptions> = {},
): Promise<Exchange> {
  const exchange = await startExchange({
    brokerUrl,
    dbPath: path.join(world.dir, `exchange-${Date.now()}-${Math.random().toString(36).slice(2)}.db`),
    key: world.exchangeKey,
    trust: world.exchangeTrust,
    address: EXCHANGE_ADDRESS,
    keepaliveSeconds: 10,
    reconnectPeriodMs: 100,
    ...overrides,
  });
  t.teardown(() => exchange.stop());
  return exchange;
}

/**
 * A payload valid against its kind's CDDL (EXCHANGE.md §4.3), made unique by `seq` and
 * `tag` and padded by `filler` — fields the CDDL does not name, which an exchange ignores.
 */
export function seedPayload(kind: 'pairing' | 'alert', seq: number, tag: string, filler: string): Buffer {
  const extra = { seq, tag, filler };
  if (kind === 'alert') {
    return encodeCanonical({
      alertId: seq + 1,
      kind: 'tamper',
      detail: `seeded alert ${tag} ${seq}`,
      raisedAt: 1_741_941_000_000,
      gatewayId: IDENTITY.gatewayId,
      ...extra,
    });
  }
  const hash = createHash('sha256').update(`${tag} ${seq}`).digest();
  return encodeCanonical({
    lockId: 'SSL-KZ-000123',
    identityKey: Buffer.alloc(32, 3),
    // Not a fixture manifest's container: queries by container find manifests only.
    container: 'TSTU0000014',
    wagon: '42546184',
    manifestId: hash.toString('hex'),
    commitCounter: 2 * seq + 1,
    sealCounter: 2 * seq + 2,
    sealEvent: hash,
    sealedAt: 1_741_941_000_000,
    carrierKid: 'kz-carrier-1',
    gatewayId: IDENTITY.gatewayId,
    ...extra,
  });
}

/** Queues `n` small rows (kind pairing unless told), valid at the exchange, and returns their ids. */
export function seedOutbox(
  store: Store,
  n: number,
  options: { kind?: 'pairing' | 'alert'; size?: number; tag?: string } = {},
) {
  const ids: number[] = [];
  const filler = 'x'.repeat(options.size ?? 16);
  const now = Date.now();
  const kind = options.kind ?? 'pairing';
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const payload = seedPayload(kind, i, options.tag ?? 'seed', filler);
      ids.push(store.outbox.enqueue(kind, payload, { seq: i }, now));
    }
  })();
  return ids;
}

/**
 * Polls until `check` holds; fails with `what` once the safety net is out: `timeoutMs` is
 * what the wait takes at most on an idle machine, the net PATIENCE times that.
 */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + net(timeoutMs);
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${net(timeoutMs)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Stores a fixture manifest as a lock read would (trust on first use must be on), inspected with `trust`. */
export function ingestManifest(store: Store, bytes: Uint8Array, trust: TrustStore, seed: number): number {
  const inspection = inspectManifest(bytes, trust);
  const lock = new TestLock(inspection.routing?.lockId ?? `SSL-TEST-${seed}`, seed, bytes);
  const result = ingestRecord(store, {
    read: lock.read(),
    inspection: inspection as ReadToRecord['inspection'],
  });
  return result.outboxIds[0]!;
}

export function fixtureManifest(name: string): Buffer {
  return readFileSync(path.join(FIXTURE_MANIFESTS_DIR, name));
}

/** A sync engine for the world's gateway on `store`, started, stopped in teardown. */
export async function startEngine(
  t: Teardown,
  world: SyncWorld,
  store: Store,
  brokers: string[],
  overrides: Partial<SyncConfig> = {},
  options: { log?: Logger; gatewayKey?: PrivateKey; clock?: Clock } = {},
): Promise<SyncEngine> {
  const engine = new SyncEngine({
    store,
    gatewayKey: options.gatewayKey ?? world.gatewayKey,
    trust: world.agentTrust,
    config: testSyncConfig(brokers, overrides),
    ...(options.log ? { log: options.log } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await engine.start();
  t.teardown(() => engine.stop());
  return engine;
}

/** Every outbox row (outage reports included) acknowledged, and at the exchange exactly once by content. */
export function assertExactlyOnce(t: Test, store: Store, exchange: Exchange): void {
  const ids = store.db.prepare('SELECT outbox_id FROM outbox ORDER BY outbox_id').pluck().all() as number[];
  const rows = ids.map((id) => store.outbox.get(id)!);
  t.equal(rows.filter((r) => r.state !== 'acknowledged').length, 0, 'every row acknowledged');
  const atExchange = exchange.db.all();
  const byHash = new Map<string, number>();
  for (const m of atExchange)
    byHash.set(m.payloadSha256.toString('hex'), (byHash.get(m.payloadSha256.toString('hex')) ?? 0) + 1);
  const lost = rows.filter((r) => !byHash.has(r.payloadSha256.toString('hex'))).length;
  const duplicated = [...byHash.values()].filter((n) => n > 1).length;
  t.equal(lost, 0, '0 lost at the exchange');
  t.equal(duplicated, 0, '0 duplicated at the exchange');
  t.equal(atExchange.length, rows.length, 'the exchange holds exactly the rows sent');
  t.same(
    rows.map((r) => r.messageId).sort(),
    atExchange.map((m) => m.messageId).sort(),
    'under the messageIds the gateway recorded',
  );
}
