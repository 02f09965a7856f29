/**
 * Helpers for the store's tests: a temporary database, a clock the test moves, and lock
 * reads built the way the lock layer builds them — real Ed25519 keys, events chained and
 * signed by the simulator's event-log builder, chain problems from the real verifier.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import type { Clock } from '../../src/clock.js';
import { type LockEvent, verifyEventChain } from '../../src/lock/event-log.js';
import { ZERO_HASH } from '../../src/lock/identity.js';
import { appendEvents, type EventSpec } from '../../src/sim/lock/event-log-builder.js';
import { openStore, type Store, type StoreOptions } from '../../src/store/index.js';
import type {
  LockReadRecord,
  ManifestInspection,
  ManifestRouting,
  VerificationStatus,
} from '../../src/store/types.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A fresh directory under the system temp dir, removed after the test. */
export function tempDir(t: Teardown, prefix = 'ctop-store-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export class ManualClock implements Clock {
  #now: number;
  /** Wall-clock steps so far: monotonic time does not see them. */
  #stepped = 0;
  constructor(start = Date.UTC(2025, 2, 14, 8, 30)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  monotonic(): number {
    return this.#now - this.#stepped;
  }
  /** The wall clock jumps (NTP, GPS, an operator) while no time passes. */
  step(ms: number): void {
    this.#now += ms;
    this.#stepped += ms;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}

export interface TestStore {
  store: Store;
  clock: ManualClock;
  path: string;
}

/** A store on a temporary file, closed after the test. */
export function openTestStore(t: Teardown, options: Partial<StoreOptions> = {}): TestStore {
  const dir = tempDir(t);
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock();
  const file = options.path ?? path.join(dir, 'store.db');
  const store = openStore({ trustOnFirstUse: true, ...options, path: file, clock });
  t.teardown(() => store.close());
  return { store, clock, path: file };
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** A simulated lock: identity key pair and its own event log. */
export class TestLock {
  readonly lockId: string;
  readonly keyPair: nacl.SignKeyPair;
  events: LockEvent[] = [];
  manifest: Uint8Array;

  constructor(lockId: string, seed?: number, manifest?: Uint8Array) {
    this.lockId = lockId;
    const s = new Uint8Array(32);
    if (seed === undefined) s.set(nacl.randomBytes(32));
    else s.fill(seed & 0xff);
    this.keyPair = nacl.sign.keyPair.fromSeed(s);
    this.manifest = manifest ?? nacl.randomBytes(600);
  }

  get identityKey(): Uint8Array {
    return this.keyPair.publicKey;
  }

  log(...specs: EventSpec[]): this {
    this.events = appendEvents(this.lockId, this.keyPair.secretKey, this.events, specs);
    return this;
  }

  /** A complete read of this lock as the reader reports it. */
  read(overrides: Partial<LockReadRecord> = {}, at = Date.UTC(2025, 2, 14, 8, 30)): LockReadRecord {
    const events = overrides.events ?? this.events;
    const head = this.events.at(-1);
    const expected = { count: head?.counter ?? 0, head: head?.hash ?? ZERO_HASH };
    const manifest = 'manifest' in overrides ? overrides.manifest : this.manifest;
    return {
      gatewayId: 'gw-dostyk-1',
      transport: 'serial',
      endpoint: '/dev/ttyUSB0',
      startedAt: at,
      finishedAt: at + 1500,
      outcome: 'complete',
      authenticated: true,
      lock: {
        lockId: this.lockId,
        identityKey: this.identityKey,
        firmware: '1.4.2',
        battery: 87,
        sealState: 1,
        manifestSize: manifest?.byteLength ?? 0,
        manifestSha256: manifest ? sha256(manifest) : new Uint8Array(32),
        eventCount: expected.count,
        eventHead: expected.head,
      },
      ...(manifest ? { manifest } : {}),
      events,
      chainProblems:
        overrides.chainProblems ??
        verifyEventChain(this.lockId, this.identityKey, events as LockEvent[], expected),
      stats: { bytesRead: manifest?.byteLength ?? 0, frames: 12, retries: 0, resumes: 0, crcErrors: 0 },
      ...Object.fromEntries(Object.entries(overrides).filter(([k]) => k !== 'manifest' && k !== 'events')),
    } as LockReadRecord;
  }
}

export function routingFor(lockId: string, overrides: Partial<ManifestRouting> = {}): ManifestRouting {
  return {
    lockId,
    container: 'MSCU1234565',
    wagon: '52345679',
    train: 'KZ-2025-0314-07',
    departure: '690007',
    destination: '0070',
    createdAt: Date.UTC(2025, 2, 13, 18),
    signerKid: 'kz-customs-signer-1',
    departureCountry: 'KZ',
    destinationCountry: 'CN',
    ...overrides,
  };
}

/** What src/manifest inspectManifest() would say about the bytes. */
export function inspectionFor(
  bytes: Uint8Array,
  routing: ManifestRouting | undefined,
  status: VerificationStatus = 'valid',
  detail?: string,
): ManifestInspection {
  return {
    manifestId: sha256(bytes).toString('hex'),
    size: bytes.byteLength,
    verification: {
      status,
      signerKid: routing?.signerKid ?? 'kz-customs-signer-1',
      ...(detail ? { detail } : {}),
    },
    ...(routing ? { routing } : {}),
  };
}

/** Rows of a table, for assertions that look under the API. */
export function count(store: Store, table: string, where = '1'): number {
  return (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;
}
