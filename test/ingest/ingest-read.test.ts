import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { CtopError } from '../../src/errors.js';
import { ingestRead } from '../../src/ingest/ingest-read.js';
import { readLock } from '../../src/lock/reader.js';
import { silentLogger } from '../../src/log.js';
import { generateLockIdentity } from '../../src/sim/lock/lock-engine.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { openTestStore } from '../helpers/store.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

/** Lock → serial pty → reader → manifest inspection → SQLite, all real. */

const fixture = (name: string) => readFileSync(join(FIXTURE_MANIFESTS_DIR, name));

t.test('a genuine lock with a valid manifest: stored once, valid, queued for sync', async (t) => {
  const keys = testKeys(t);
  const { store } = openTestStore(t, { trustOnFirstUse: true });
  const manifest = fixture('wheat-kostanay-urumqi.cose');
  const identity = generateLockIdentity();
  const lock = await startSerialLock({ lockId: 'SSL-KZ-000123', manifest, engine: { identity } });
  t.teardown(lock.close);
  const options = { store, trust: keys.trustStore(), gatewayId: 'KZ-DOSTYK-GW01', log: silentLogger };

  const first = ingestRead(await readLock({ open: lock.open, gatewayId: 'KZ-DOSTYK-GW01' }), options);
  t.equal(first.trust, 'trusted');
  t.equal(first.pinned, true, 'identity key pinned on first sight');
  t.equal(first.manifest?.verification, 'valid');
  t.equal(first.manifest?.new, true);
  t.same(
    first.alerts.map((a) => `${a.kind}: ${a.detail}`),
    [],
  );
  t.ok(first.outboxIds.length >= 1, 'queued for the exchange');

  const second = ingestRead(await readLock({ open: lock.open, gatewayId: 'KZ-DOSTYK-GW01' }), options);
  t.equal(second.manifest?.new, false, 'same bytes: no second manifest');
  t.not(second.readId, first.readId, 'but a second read record');
  const listed = store.manifests.list({});
  t.equal(listed.length, 1);
  t.equal(listed[0]?.manifestId, first.manifest?.manifestId);
});

t.test('a tampered manifest is stored as evidence, flagged, never valid', async (t) => {
  const keys = testKeys(t);
  const { store } = openTestStore(t, { trustOnFirstUse: true });
  const lock = await startSerialLock({ lockId: 'SSL-KZ-000123', manifest: fixture('invalid/tampered.cose') });
  t.teardown(lock.close);
  const result = ingestRead(await readLock({ open: lock.open, gatewayId: 'GW' }), {
    store,
    trust: keys.trustStore(),
    gatewayId: 'GW',
    log: silentLogger,
  });
  t.equal(result.manifest?.verification, 'bad_signature');
  t.ok(result.alerts.length > 0, `alerts: ${result.alerts.map((a) => a.kind).join(', ')}`);
});

t.test('a cloned lock: the read is kept as evidence with a clone alert', async (t) => {
  const keys = testKeys(t);
  const { store } = openTestStore(t, { trustOnFirstUse: true });
  const identity = generateLockIdentity();
  const manifest = fixture('minimal.cose');
  const options = { store, trust: keys.trustStore(), gatewayId: 'GW', log: silentLogger };
  const genuine = await startSerialLock({ lockId: 'SSL-KZ-000001', manifest, engine: { identity } });
  ingestRead(await readLock({ open: genuine.open, gatewayId: 'GW' }), options);
  await genuine.close();

  const clone = await startSerialLock({
    lockId: 'SSL-KZ-000001',
    manifest,
    engine: { identity, signingKeyOverride: generateLockIdentity().secretKey },
  });
  t.teardown(clone.close);
  const read = await readLock({ open: clone.open, gatewayId: 'GW' });
  t.equal(read.error?.code, 'E_LOCK_CLONED');
  const result = ingestRead(read, options);
  t.equal(result.trust, 'clone');
  t.ok(result.alerts.some((a) => a.kind === 'clone'));
});

t.test('a read cut short leaves a checkpoint the next read resumes from', async (t) => {
  const keys = testKeys(t);
  const { store } = openTestStore(t, { trustOnFirstUse: true });
  const manifest = fixture('consolidated-300.cose');
  const identity = generateLockIdentity();
  const options = { store, trust: keys.trustStore(), gatewayId: 'GW', log: silentLogger };
  const stalling = await startSerialLock({
    lockId: 'SSL-CN-001944',
    manifest,
    engine: { identity },
    faults: { stall: { afterResponses: 10, durationMs: 60_000 } },
  });
  const cut = await readLock({ open: stalling.open, gatewayId: 'GW', attempts: 1, retries: 1 });
  await stalling.close();
  t.equal(cut.outcome, 'failed');
  ingestRead(cut, options);
  const checkpoint = store.loadReadCheckpoint('SSL-CN-001944');
  t.ok(checkpoint && checkpoint.prefix.byteLength > 0, 'checkpoint stored');

  const healthy = await startSerialLock({ lockId: 'SSL-CN-001944', manifest, engine: { identity } });
  t.teardown(healthy.close);
  const resumed = await readLock({ open: healthy.open, gatewayId: 'GW', checkpoint: checkpoint! });
  t.same(resumed.stats.resumedFrom, [checkpoint!.prefix.byteLength]);
  const result = ingestRead(resumed, options);
  t.equal(result.manifest?.verification, 'valid');
  t.equal(store.loadReadCheckpoint('SSL-CN-001944'), undefined, 'checkpoint cleared by the complete read');
});

t.test(
  'a lock that replays its answers: the read ends with E_FRAME_REPLAY and a lock_protocol alert is stored',
  async (t) => {
    const keys = testKeys(t);
    const { store } = openTestStore(t, { trustOnFirstUse: true });
    // Every answer followed by an earlier one again; 1774 bytes in 32-byte chunks is 56 READs,
    // so the 33rd replay of §9.2 comes well before the end of the manifest.
    const lock = await startSerialLock({
      lockId: 'SSL-KZ-000777',
      manifest: fixture('wheat-kostanay-urumqi.cose'),
      faults: { replayRate: 1 },
    });
    t.teardown(lock.close);
    const read = await readLock({ open: lock.open, gatewayId: 'GW', chunk: 32 });
    t.equal(read.error?.code, 'E_FRAME_REPLAY', String(read.error?.message));
    t.equal((read.error as CtopError).details.final, true, 'final: not retried on a new link (§9.2)');
    const options = { store, trust: keys.trustStore(), gatewayId: 'GW', log: silentLogger };
    const recorded = ingestRead(read, options);
    t.same(
      recorded.alerts.map((a) => a.kind),
      ['lock_protocol'],
    );
    t.match(
      recorded.alerts[0]!.detail,
      /lock SSL-KZ-000777 broke the replay bound of PROTOCOL\.md §9\.2 \(E_FRAME_REPLAY\)/,
    );
    const stored = store.alerts.forLock('SSL-KZ-000777').filter((a) => a.kind === 'lock_protocol');
    t.equal(stored.length, 1, 'stored, for the console and the exchange');
    t.equal(stored[0]!.lockId, 'SSL-KZ-000777');
    // The same lock misbehaving again is the same alert, seen twice — not a second one.
    ingestRead(await readLock({ open: lock.open, gatewayId: 'GW', chunk: 32 }), options);
    const again = store.alerts.forLock('SSL-KZ-000777').filter((a) => a.kind === 'lock_protocol');
    t.equal(again.length, 1);
    t.equal(again[0]!.occurrences, 2);
  },
);
