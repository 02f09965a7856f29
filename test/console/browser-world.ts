/**
 * The world the console's browser test (and scripts/console-screenshots.ts) looks at:
 * simulated locks on pseudo-terminals read by the real reader and ingested into a real
 * store, the sync engine talking to the reference exchange through the real mosquitto and
 * a TCP proxy that cuts the link (the outage), the console on a loopback port, and Debian
 * chromium driven by playwright-core.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { systemClock } from '../../src/clock.js';
import { type ConsistLock, LiveTrains, TrainRecorder, type TrainView } from '../../src/console/index.js';
import { ingestRead } from '../../src/ingest/ingest-read.js';
import { loadPublicKey } from '../../src/keys/index.js';
import { readLock } from '../../src/lock/reader.js';
import { silentLogger } from '../../src/log.js';
import { inspectManifest } from '../../src/manifest/index.js';
import type { Exchange } from '../../src/reference-exchange/index.js';
import { generateLockIdentity, type LockIdentity } from '../../src/sim/lock/lock-engine.js';
import type { LockFaults } from '../../src/sim/lock/simulated-lock.js';
import type { Store } from '../../src/store/index.js';
import type { SyncEngine } from '../../src/sync/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { openTestStore } from '../helpers/store.js';
import {
  IDENTITY,
  makeSyncWorld,
  type SyncWorld,
  startEngine,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';
import { startConsole } from './console-world.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export const CHROMIUM = process.env.CTOP_CHROMIUM ?? '/usr/bin/chromium';
export const TRAIN_ID = 'KZ-2025-0314-07';

export interface PlannedLock {
  lockId: string;
  fixture?: string;
  faults?: LockFaults;
  /** readLock attempts (links); default 6. */
  attempts?: number;
  /** What the strip must end with. */
  expect: 'verified' | 'read' | 'tamper' | 'failed' | 'missing';
}

/**
 * The train, in consist order: a genuine lock; a 68 KB manifest whose link drops once (the
 * strip shows it reading, and a retry); a manifest by a signer this gateway trusts but the
 * exchange does not (verified here, rejected there with its reason); one by an expired
 * signer key (read, not verified); a tampered manifest; a lock whose link keeps dropping
 * (failed); and a lock on the consist list that never answers (missing).
 */
export const TRAIN: PlannedLock[] = [
  { lockId: 'SSL-KZ-000123', fixture: 'wheat-kostanay-urumqi.cose', expect: 'verified' },
  {
    lockId: 'SSL-CN-001944',
    fixture: 'consolidated-300.cose',
    faults: { disconnect: { afterManifestBytes: 30_000 } },
    expect: 'verified',
  },
  { lockId: 'SSL-KZ-000001', fixture: 'invalid/unknown-signer.cose', expect: 'verified' },
  { lockId: 'SSL-CN-000457', fixture: 'invalid/expired-signer.cose', expect: 'read' },
  { lockId: 'SSL-CN-000812', fixture: 'invalid/tampered.cose', expect: 'tamper' },
  {
    lockId: 'SSL-CN-000640',
    fixture: 'electronics-xian-duisburg.cose',
    faults: { disconnect: { afterManifestBytes: 800, times: 10 } },
    attempts: 2,
    expect: 'failed',
  },
  { lockId: 'SSL-KZ-000777', expect: 'missing' },
];

export const fixture = (name: string) => readFileSync(join(FIXTURE_MANIFESTS_DIR, name));

export interface BrowserWorld {
  url: string;
  store: Store;
  trains: LiveTrains;
  sync: SyncWorld;
  exchange: Exchange;
  engine: SyncEngine;
  proxy: TcpProxy;
  browser: Browser;
  /** Reads a train of simulated serial locks lock by lock, publishing to the console's live strip. */
  runTrain(trainId: string, plan: readonly PlannedLock[]): Promise<TrainView>;
}

export async function launchChromium(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

export async function startBrowserWorld(t: Teardown): Promise<BrowserWorld> {
  const broker = await startMosquitto(t);
  const sync = makeSyncWorld(t);
  const keys = testKeys(t);
  // This gateway trusts a signer the exchange does not know: its manifest is valid here and
  // rejected there, as when trust stores drift apart (the exchange says why).
  sync.agentTrust.add(loadPublicKey(keys.pubFile('rogue-signer-1')));
  const exchange = await startTestExchange(t, sync, broker.url);
  const proxy = await TcpProxy.start(broker.port);
  t.teardown(() => proxy.close());
  const { store } = openTestStore(t, {
    clock: systemClock,
    trustOnFirstUse: true,
    backoff: { baseMs: 100, maxMs: 400 },
  });
  const engine = await startEngine(t, sync, store, [proxy.url]);
  await waitFor(() => engine.status().connected, 10_000, 'the sync connected');

  const trains = new LiveTrains();
  const consoleWorld = await startConsole(t, {
    store,
    trust: sync.agentTrust,
    trains,
    recipientKeys: [keys.key('kz-customs-recipient-1')],
    // Each language's sweep shows the refused login once; the limit itself is security.test.ts's.
    loginLimit: { maxFailures: 100 },
  });
  const browser = await launchChromium(t);

  // A lock keeps its identity key from one train to the next, as a real one does: a second
  // read of it is the same lock, not a clone.
  const identities = new Map<string, LockIdentity>();
  const identityOf = (lockId: string) => {
    let identity = identities.get(lockId);
    if (!identity) {
      identity = generateLockIdentity();
      identities.set(lockId, identity);
    }
    return identity;
  };

  const runTrain = async (trainId: string, plan: readonly PlannedLock[]) => {
    const consist: ConsistLock[] = plan.map((l) => {
      const routing = l.fixture ? inspectManifest(fixture(l.fixture), sync.agentTrust).routing : undefined;
      return {
        lockId: l.lockId,
        ...(routing ? { wagon: routing.wagon, container: routing.container } : { wagon: '42990017' }),
      };
    });
    const recorder = new TrainRecorder(trains, { trainId, consist });
    for (const planned of plan) {
      if (!planned.fixture) continue; // on the list, never in range
      const lock = await startSerialLock({
        lockId: planned.lockId,
        manifest: fixture(planned.fixture),
        baudRate: 460_800,
        engine: { identity: identityOf(planned.lockId) },
        ...(planned.faults ? { faults: planned.faults } : {}),
      });
      try {
        recorder.heard(planned.lockId);
        const result = await readLock({
          open: lock.open,
          gatewayId: IDENTITY.gatewayId,
          onProgress: recorder.progress(planned.lockId),
          backoffBaseMs: 100,
          ...(planned.attempts ? { attempts: planned.attempts } : {}),
        });
        const stored = ingestRead(result, {
          store,
          trust: sync.agentTrust,
          gatewayId: IDENTITY.gatewayId,
          log: silentLogger,
        });
        const routing = stored.manifest
          ? store.manifests.get(stored.manifest.manifestId)?.routing
          : undefined;
        recorder.finished(planned.lockId, result, stored, routing);
      } finally {
        await lock.close();
      }
    }
    return recorder.finish();
  };

  return {
    url: consoleWorld.url,
    store,
    trains,
    sync,
    exchange,
    engine,
    proxy,
    browser,
    runTrain,
  };
}

/**
 * Cuts the exchange link, reads the train while it is down, restores the link and waits
 * for the drain and the outage report: the state every page then shows.
 */
export async function passTrainThroughOutage(world: BrowserWorld): Promise<void> {
  world.proxy.refuse();
  world.proxy.cut();
  await waitFor(() => world.engine.status().currentOutage !== undefined, 10_000, 'the outage recorded');
  await world.runTrain(TRAIN_ID, TRAIN);
  world.proxy.restore();
  await waitForDrain(world.store);
}

export async function waitForDrain(store: Store): Promise<void> {
  await waitFor(
    () => {
      const s = store.outbox.status(Date.now());
      return (
        s.counts.queued + s.counts.in_flight === 0 &&
        store.outages.current() === undefined &&
        store.outages.unreported().length === 0
      );
    },
    30_000,
    'the drain and the outage report',
  );
}
