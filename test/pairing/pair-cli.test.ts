import { spawn } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { EventKind, SealState } from '../../src/lock/codec/constants.js';
import { composeForPairing } from '../../src/pairing/index.js';
import { generateLockIdentity } from '../../src/sim/lock/lock-engine.js';
import { openStore } from '../../src/store/index.js';
import {
  fixtureBytes,
  PAIRING_FIXTURES,
  type PairingFixture,
  testCarrier,
  writeCarrierKey,
} from '../helpers/carrier.js';
import { CLI, runCli } from '../helpers/cli.js';
import { type SerialLockSetup, startSerialLock } from '../helpers/serial-lock.js';
import { tempDir } from '../helpers/store.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

/** `ctop-agent pair` as a carrier runs it: a real child process on a real pty. */

const carrier = testCarrier('kz-carrier-ktze-7');

interface Yard {
  dir: string;
  db: string;
  carrierKey: string;
  trust: string;
  keys: ReturnType<typeof testKeys>;
}

function yard(t: Test): Yard {
  const dir = tempDir(t, 'ctop-pair-');
  const keys = testKeys(t);
  return {
    dir,
    db: path.join(dir, 'agent.db'),
    carrierKey: writeCarrierKey(dir, carrier),
    trust: keys.trustStoreFile,
    keys,
  };
}

async function loadingLock(
  t: Test,
  f: PairingFixture,
  provisioned = [carrier.provisioned],
): Promise<SerialLockSetup> {
  const lock = await startSerialLock({
    lockId: f.lockId,
    manifest: Buffer.from('previous journey'),
    engine: {
      identity: generateLockIdentity(),
      events: [],
      sealState: SealState.Unsealed,
      carrierKeys: provisioned,
    },
  });
  t.teardown(lock.close);
  return lock;
}

function pairArgs(y: Yard, lock: SerialLockSetup, f: PairingFixture, extra: string[] = []): string[] {
  return [
    'pair',
    '--container',
    f.container,
    '--wagon',
    f.wagon,
    '--manifest',
    path.join(FIXTURE_MANIFESTS_DIR, f.file),
    '--trust',
    y.trust,
    '--serial',
    lock.pty.gatewayPath,
    '--baud',
    String(lock.baudRate),
    '--carrier-key',
    y.carrierKey,
    '--gateway-id',
    'KZ-ALTYNKOL-LOADING',
    '--db',
    y.db,
    ...extra,
  ];
}

function pairingRows(db: string): { outbox: number; sealCounters: unknown[] } {
  const store = openStore({ path: db, create: false, quickCheck: false });
  try {
    const rows = store.db
      .prepare<[], { routing: string }>(`SELECT routing FROM outbox WHERE kind = 'pairing'`)
      .all();
    return { outbox: rows.length, sealCounters: rows.map((r) => JSON.parse(r.routing).sealCounter) };
  } finally {
    store.close();
  }
}

t.test('pair: writes, seals, confirms and records; running it again records nothing new', async (t) => {
  const y = yard(t);
  const f = PAIRING_FIXTURES.wheat;
  const lock = await loadingLock(t, f);
  const first = await runCli(pairArgs(y, lock, f));
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, new RegExp(`paired lock ${f.lockId} with container ${f.container}`));
  t.match(first.stdout, /read back\s+same manifest bytes, event chain of 3 events valid/);
  t.match(first.stderr, /pairing: \d+\/\d+ bytes/, 'plain progress lines when stderr is not a terminal');
  t.same(Buffer.from(lock.lock.engine.manifest), fixtureBytes(f));
  t.equal(lock.lock.engine.info().seal, SealState.Sealed);

  const second = await runCli(pairArgs(y, lock, f, ['--json']));
  t.equal(second.code, 0, second.stderr);
  const json = JSON.parse(second.stdout);
  t.match(json, {
    lockId: f.lockId,
    duplicate: true,
    steps: { committed: false, sealed: false, bytesWritten: 0 },
  });
  t.same(pairingRows(y.db), { outbox: 1, sealCounters: [3] }, 'one pairing record');
  t.same(
    lock.lock.engine.events.map((e) => e.kind),
    [EventKind.Write, EventKind.Commit, EventKind.Sealed],
    'the second run touched nothing',
  );
  const store = openStore({ path: y.db, create: false, quickCheck: false });
  t.teardown(() => store.close());
  t.equal(store.locks.get(f.lockId)?.pinnedBy, 'tofu', 'the lock is known and pinned at pairing');
  t.equal(store.manifests.get(json.manifestId)?.verification, 'valid', 'the manifest is stored, valid');
});

t.test('pair refuses before writing: wrong container and wagon, unknown carrier key', async (t) => {
  const y = yard(t);
  const f = PAIRING_FIXTURES.minimal;
  const lock = await loadingLock(t, f, []);
  const wrong = await runCli(
    pairArgs(y, lock, f).map((a) => (a === f.container ? 'TGHU8823466' : a === f.wagon ? '42546184' : a)),
  );
  t.equal(wrong.code, 2);
  t.match(
    wrong.stderr,
    /E_PAIRING_ROUTING: container TGHU8823466 ≠ MSKU4002711 in the manifest; wagon 42546184/,
  );
  t.equal(lock.lock.stats.requests, 0, 'the lock was not even contacted');

  const refused = await runCli(pairArgs(y, lock, f));
  t.equal(refused.code, 10, 'security exit code');
  t.match(refused.stderr, /E_PAIRING_CARRIER_AUTH: .*unknown carrier key/);
  t.same(lock.lock.engine.events, [], 'nothing written or logged');
  t.same(Buffer.from(lock.lock.engine.manifest), Buffer.from('previous journey'));
});

t.test(
  'pair --goods composes, encrypts and signs at the track: the same inputs, the same bytes',
  async (t) => {
    const y = yard(t);
    const f = PAIRING_FIXTURES.minimal;
    const lock = await loadingLock(t, f);
    const args = pairArgs(y, lock, f).filter(
      (a, i, all) => a !== '--manifest' && all[i - 1] !== '--manifest',
    );
    const result = await runCli([
      ...args,
      '--goods',
      path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'),
      '--sign-key',
      y.keys.keyFile('kz-customs-signer-1'),
      '--to',
      'kz-customs-recipient-1',
      'cn-customs-recipient-1',
      '--json',
    ]);
    t.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    t.equal(json.container, f.container);
    const expected = composeForPairing(
      path.join(FIXTURE_MANIFESTS_DIR, 'minimal.json'),
      y.keys.key('kz-customs-signer-1'),
      ['kz-customs-recipient-1', 'cn-customs-recipient-1'].map((kid) => ({
        kid,
        publicKey: y.keys.trustStore().find(kid, 'recipient')!.publicKey,
      })),
    );
    t.same(
      Buffer.from(lock.lock.engine.manifest),
      Buffer.from(expected.bytes),
      'the lock holds what a rerun would compose',
    );
  },
);

t.test(
  'the pairing CLI SIGKILLed at a random point: running it again finishes, recorded once (fast-check)',
  async (t) => {
    const f = PAIRING_FIXTURES.consolidated;
    const size = fixtureBytes(f).byteLength;
    const killPoint = fc.oneof(
      fc.record({ staged: fc.integer({ min: 1, max: size }) }),
      fc.constant({ committed: true as const }),
      fc.constant({ sealed: true as const }),
    );
    await fc.assert(
      fc.asyncProperty(killPoint, async (point) => {
        const y = yard(t);
        const lock = await loadingLock(t, f);
        const engine = lock.lock.engine;
        const child = spawn(process.execPath, [CLI, ...pairArgs(y, lock, f, ['--json'])], {
          stdio: 'ignore',
        });
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        const reached = () =>
          'staged' in point
            ? engine.info().staged >= point.staged || Buffer.from(engine.manifest).equals(fixtureBytes(f))
            : 'committed' in point
              ? Buffer.from(engine.manifest).equals(fixtureBytes(f))
              : engine.info().seal === SealState.Sealed;
        let exitCode: number | null | undefined;
        void exited.then((c) => {
          exitCode = c;
        });
        while (!reached() && exitCode === undefined) await new Promise((r) => setTimeout(r, 1));
        child.kill('SIGKILL');
        await exited;
        const stagedAtKill = engine.info().staged;

        const rerun = await runCli(pairArgs(y, lock, f, ['--json']));
        t.equal(rerun.code, 0, rerun.stderr);
        const json = JSON.parse(rerun.stdout);
        t.same(Buffer.from(engine.manifest), fixtureBytes(f), `${JSON.stringify(point)}: the new manifest`);
        t.equal(engine.info().seal, SealState.Sealed);
        if (stagedAtKill > 0 && json.steps.committed) {
          t.same(json.steps.resumedFrom, [stagedAtKill], `continued at ${stagedAtKill}`);
        }
        t.equal(engine.events.filter((e) => e.kind === EventKind.Sealed).length, 1, 'sealed once');
        t.equal(pairingRows(y.db).outbox, 1, 'one pairing record');
        await lock.close();
        return true;
      }),
      { numRuns: 3, seed: 7 },
    );
  },
);
