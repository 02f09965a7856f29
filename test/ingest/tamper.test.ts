import fc from 'fast-check';
import t from 'tap';
import { assessTamper, type TamperInput } from '../../src/ingest/tamper.js';
import { EventKind, SealState } from '../../src/lock/codec/constants.js';
import type { LockEvent } from '../../src/lock/event-log.js';
import { sha256 } from '../../src/lock/identity.js';
import { appendEvents, type EventSpec } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity } from '../../src/sim/lock/lock-engine.js';

/** What the lock's own log says happened since loading (src/ingest/tamper.ts). */

const LOCK = 'SSL-KZ-000123';
const identity = generateLockIdentity(new Uint8Array(32).fill(7));
const manifest = Buffer.from('the manifest of this journey');
const previous = Buffer.from('the manifest of the previous journey');
const commitOf = (m: Uint8Array, time: number): EventSpec => ({
  kind: EventKind.Commit,
  time,
  detail: sha256(m).subarray(0, 8),
});
const seal = (time: number, container = 'MSKU4002711'): EventSpec => ({
  kind: EventKind.Sealed,
  time,
  detail: Buffer.from(container),
});
const log = (...specs: EventSpec[]) => appendEvents(LOCK, identity.secretKey, [], specs);

function assess(events: LockEvent[], overrides: Partial<TamperInput> = {}) {
  return assessTamper({
    lockId: LOCK,
    sealState: SealState.Sealed,
    manifestHash: sha256(manifest),
    eventCount: events.at(-1)?.counter ?? 0,
    events,
    ...overrides,
  });
}

t.test('an untouched journey: nothing to flag', async (t) => {
  const events = log(
    commitOf(previous, 1),
    seal(2),
    { kind: EventKind.Opened, time: 3 }, // last journey, before this loading
    { kind: EventKind.Unsealed, time: 4, detail: Buffer.from('released') },
    { kind: EventKind.Write, time: 5 },
    commitOf(manifest, 6),
    seal(7),
    { kind: EventKind.LowBattery, time: 8 },
  );
  t.same(assess(events), []);
});

t.test('opened, tamper and unsealed after the loading seal are flagged with their counters', async (t) => {
  const events = log(
    commitOf(manifest, 1),
    seal(2),
    { kind: EventKind.Opened, time: 3 },
    seal(4),
    { kind: EventKind.Tamper, time: 5 },
    { kind: EventKind.Unsealed, time: 6, detail: Buffer.from('inspection') },
    seal(7),
  );
  t.same(
    assess(events).map((f) => [f.kind, f.counter]),
    [
      ['opened', 3],
      ['tamper_event', 5],
      ['unsealed', 6],
    ],
  );
  t.match(assess(events)[2]?.detail, /\(inspection\)/, 'the unseal reason is shown');
});

t.test('a rewrite of the same manifest after an UNSEAL does not hide the UNSEAL', async (t) => {
  const events = log(
    commitOf(manifest, 1),
    seal(2),
    { kind: EventKind.Unsealed, time: 3, detail: Buffer.from('thief with a carrier key') },
    commitOf(manifest, 4),
    seal(5),
  );
  t.same(
    assess(events).map((f) => f.kind),
    ['unsealed'],
  );
});

t.test('seal state, a manifest no commit names, and a counter gone back', async (t) => {
  const events = log(commitOf(manifest, 1), seal(2));
  t.same(
    assess(events, { sealState: SealState.Tampered }).map((f) => f.kind),
    ['seal_broken'],
  );
  t.same(
    assess(events, { sealState: SealState.Unsealed }).map((f) => f.kind),
    ['not_sealed'],
  );
  t.same(
    assess(events, { sealState: SealState.Unsealed, manifestHash: undefined }),
    [],
    'no manifest, no seal',
  );
  t.same(
    assess(log(commitOf(previous, 1), seal(2))).map((f) => f.kind),
    ['uncommitted_manifest'],
  );
  t.same(
    assess(log({ kind: EventKind.Commit, time: 1 }, seal(2))).map((f) => f.kind),
    ['uncommitted_manifest'],
    'PROTOCOL.md 1.1 §7: a commit without the hash does not name the manifest of a sealed lock',
  );
  t.same(
    assess(log({ kind: EventKind.Commit, time: 1 }, seal(2)), { sealState: SealState.Unsealed }).map(
      (f) => f.kind,
    ),
    ['not_sealed'],
    'older firmware, unsealed: only the seal state is a finding',
  );
  t.same(
    assess(events, { knownEventCount: 5 }).map((f) => [f.kind, f.counter]),
    [['counter_back', 2]],
  );
  t.same(assess(events, { knownEventCount: 2 }), []);
});

t.test('§7 the clean log of a sealed lock: empty log, no commit, no seal after the commit', async (t) => {
  t.same(
    assess([], { eventCount: 0 }).map((f) => f.kind),
    ['empty_log'],
    'a sealed lock with a manifest and an empty log',
  );
  t.same(
    assess([], { eventCount: 0, sealState: SealState.Unsealed }).map((f) => f.kind),
    ['not_sealed'],
  );
  t.same(assess([], { eventCount: 0, manifestHash: undefined, sealState: SealState.Unsealed }), []);
  t.same(
    assess(log(seal(1))).map((f) => f.kind),
    ['uncommitted_manifest'],
    'a seal but no commit at all',
  );
  t.same(
    assess(log(commitOf(manifest, 1))).map((f) => f.kind),
    ['unsealed_commit'],
    'a commit, no seal after it',
  );
  t.same(assess(log(commitOf(manifest, 1), seal(2))), [], 'the clean log');
});

t.test(
  'any log from a lock: never throws, and an opened event after the loading seal is always flagged',
  async (t) => {
    const spec = fc.record({
      kind: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 200),
      time: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      detail: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(
        fc.array(spec, { maxLength: 20 }),
        fc.array(spec, { maxLength: 20 }),
        fc.constantFrom(0, 1, 2, 9),
        fc.option(fc.nat()),
        (before, after, sealState, known) => {
          // Signatures are not assessTamper's business (verifyEventChain's): unsigned entries keep this fast.
          const events = [
            ...before,
            commitOf(manifest, 100),
            seal(101),
            ...after,
            { kind: EventKind.Opened, time: 102 },
          ].map(
            (e, i): LockEvent => ({
              counter: i + 1,
              time: e.time,
              kind: e.kind,
              detail: e.detail ?? new Uint8Array(0),
              prev: new Uint8Array(32),
              hash: new Uint8Array(32),
              sig: new Uint8Array(64),
            }),
          );
          const findings = assess(events, {
            sealState,
            ...(known === null ? {} : { knownEventCount: known }),
          });
          const opened = events.at(-1)!.counter;
          return findings.some((f) => f.kind === 'opened' && f.counter === opened);
        },
      ),
      { numRuns: 300 },
    );
    t.pass('300 generated logs');
  },
);
