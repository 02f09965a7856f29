/**
 * Parties and data of the sync benchmark (scripts/bench/sync.ts): keys and trust stores,
 * 8 KiB signed manifests made fast, a store filled as the lock reader fills it, child
 * processes. A folder of its own so `npm run bench` does not take it for a benchmark.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../../src/clock.js';
import { Ed25519Signer } from '../../../src/exchange-wire/index.js';
import { ingestRecord } from '../../../src/ingest/ingest-read.js';
import {
  generateKey,
  type PrivateKey,
  publicPart,
  TrustStore,
  writeKeyPair,
} from '../../../src/keys/index.js';
import { encodeProtectedHeader, encodeSign1, sigStructure } from '../../../src/manifest/cose.js';
import {
  composeManifest,
  encodePayload,
  encryptFor,
  inspectManifest,
  parseGoodsFile,
} from '../../../src/manifest/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { type SyncConfig, SyncEngine } from '../../../src/sync/index.js';
import { TestLock } from '../../../test/helpers/store.js';
import { waitFor } from '../../../test/helpers/sync-world.js';
import { consolidatedCsv, fixtureKeys, TRUST_STORE_FILE } from '../../make-manifest-fixtures.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EXCHANGE_SCRIPT = path.join(ROOT, 'scripts/exchange.ts');
export const AGENT_CHILD = path.join(ROOT, 'test/sync/fixtures/agent-child.ts');
export const IDENTITY = { country: 'KZ', checkpoint: 'DOSTYK', gatewayId: 'gw-dostyk-1' };

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Parties {
  dir: string;
  gatewayKey: PrivateKey;
  exchangeKey: PrivateKey;
  agentTrust: TrustStore;
  exchangeTrust: TrustStore;
  files: { gatewayKey: string; exchangeKey: string; agentTrust: string; exchangeTrust: string };
}

export function parties(): Parties {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctop-bench-sync-'));
  const gatewayKey = generateKey('gateway', IDENTITY.gatewayId);
  const exchangeKey = generateKey('exchange', 'kz-exchange-1');
  const agentTrust = TrustStore.load(TRUST_STORE_FILE);
  agentTrust.add(publicPart(exchangeKey));
  const exchangeTrust = TrustStore.load(TRUST_STORE_FILE);
  exchangeTrust.add(publicPart(gatewayKey));
  const files = {
    gatewayKey: writeKeyPair(path.join(dir, 'keys'), gatewayKey).privateKey,
    exchangeKey: writeKeyPair(path.join(dir, 'keys'), exchangeKey).privateKey,
    agentTrust: path.join(dir, 'agent-trust.json'),
    exchangeTrust: path.join(dir, 'exchange-trust.json'),
  };
  agentTrust.save(files.agentTrust);
  exchangeTrust.save(files.exchangeTrust);
  return { dir, gatewayKey, exchangeKey, agentTrust, exchangeTrust, files };
}

/**
 * `n` distinct, genuinely signed manifests of about 8 KiB: one consignment composed and
 * encrypted once, then re-signed with a different createdAt each (OpenSSL Ed25519, the
 * same signatures tweetnacl would make, only fast enough for 10,000).
 */
export function makeManifests(n: number): Buffer[] {
  const keys = fixtureKeys();
  const parsed = parseGoodsFile(consolidatedCsv(34, 'bench-sync'), 'csv');
  const { manifest } = composeManifest(parsed.input, { locate: parsed.locate, source: 'bench-sync.csv' });
  const recipients = ['kz-customs-recipient-1', 'cn-customs-recipient-1'].map((kid) => ({
    kid,
    publicKey: keys.get(kid)!.publicKey,
  }));
  const payload = encryptFor(manifest, recipients);
  const signer = new Ed25519Signer(keys.get('cn-customs-signer-1')!);
  const protectedBytes = encodeProtectedHeader(signer.kid);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = encodePayload({
      ...payload,
      routing: { ...payload.routing, createdAt: payload.routing.createdAt + i * 1000 },
    });
    out.push(encodeSign1(protectedBytes, bytes, signer.sign(sigStructure(protectedBytes, bytes))));
  }
  return out;
}

/** Stores the manifests as reads of one lock, in one transaction, as the lock reader would. */
export function ingest(store: Store, manifests: Buffer[], trust: TrustStore): void {
  const first = inspectManifest(manifests[0]!, trust);
  const lock = new TestLock(first.routing!.lockId, 7, manifests[0]!);
  store.transaction(() => {
    manifests.forEach((bytes, i) => {
      lock.manifest = bytes;
      const inspection = inspectManifest(bytes, trust);
      if (inspection.verification.status !== 'valid')
        throw new Error(`bench manifest ${i}: ${inspection.verification.detail}`);
      ingestRecord(store, { read: lock.read({}, Date.UTC(2025, 5, 3, 8) + i * 10_000), inspection });
    });
  });
}

/** A store file holding a backlog of queued manifests, copied for every run that drains it. */
export interface Backlog {
  dbPath: string;
  manifests: Buffer[];
  averageBytes: number;
}

/** `n` signed manifests stored as reads (a backlog of `n` outbox rows) in a closed store file. */
export function prepareBacklog(p: Parties, n: number): Backlog {
  const manifests = makeManifests(n);
  const dbPath = path.join(p.dir, 'agent-backlog.db');
  const store = openStore({ path: dbPath, clock: systemClock, trustOnFirstUse: true });
  try {
    // As in the daemon, whose sync exists before the first read: each row is made with its
    // envelope signed once (EXCHANGE.md §3, version 1.2). Never started: it only seals.
    new SyncEngine({
      store,
      gatewayKey: p.gatewayKey,
      trust: p.agentTrust,
      config: syncConfig(['mqtt://127.0.0.1:1']),
    });
    ingest(store, manifests, p.agentTrust);
  } finally {
    // Closing checkpoints the WAL: the one file is the whole store, ready to copy.
    store.close();
  }
  const averageBytes = Math.round(manifests.reduce((s, m) => s + m.byteLength, 0) / manifests.length);
  return { dbPath, manifests, averageBytes };
}

/** The reference exchange in its own process (scripts/exchange.ts), with a fresh database. */
export function startExchangeChild(
  p: Parties,
  brokerUrl: string,
  dbPath: string,
): Promise<{ child: ChildProcess; out: () => string }> {
  return spawnReady(
    [
      EXCHANGE_SCRIPT,
      '--broker',
      brokerUrl,
      '--db',
      dbPath,
      '--key',
      p.files.exchangeKey,
      '--trust',
      p.files.exchangeTrust,
      '--report',
      '0',
    ],
    'ready',
  );
}

export function syncConfig(brokers: string[], overrides: Partial<SyncConfig> = {}): SyncConfig {
  return { ...IDENTITY, brokers, exchangeAddress: 'CTOP://KZ/EXCHANGE', ...overrides };
}

export async function spawnReady(
  args: string[],
  word: string,
  stdinGo = false,
): Promise<{ child: ChildProcess; out: () => string }> {
  // BENCH_CHILD_CPU_PROF=<dir>: profile the children too (scripts/bench/sync/profile-drain.ts).
  const prof = process.env.BENCH_CHILD_CPU_PROF;
  const node = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, '--cpu-prof-interval=200'] : [];
  const child = spawn(process.execPath, [...node, '--import', 'tsx', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  if (stdinGo) {
    await waitFor(() => out.includes('loaded\n') || child.exitCode !== null, 60_000, 'the agent to load');
    child.stdin!.write('go\n');
  }
  await waitFor(() => out.includes(word) || child.exitCode !== null, 60_000, `${args[0]} to be ${word}`);
  if (child.exitCode !== null) throw new Error(`${args[0]} exited: ${err}`);
  return { child, out: () => out };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}
