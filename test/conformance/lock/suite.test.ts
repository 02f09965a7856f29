import t from 'tap';
import type { CheckGroup } from '../../../src/conformance/lock/suite.js';
import { generateLockIdentity } from '../../../src/sim/lock/lock-engine.js';
import type { SerialLockSetupOptions } from '../../helpers/serial-lock.js';
import { failedIds, judge, verdicts } from './helpers.js';

/**
 * The conformance kit (PROTOCOL.md §16) against the lock simulator: the faithful one passes
 * every requirement; each fault the simulator can show makes the requirement it breaks
 * fail, by name. The line-timeout requirements (slow by nature) are in line-timeout.test.ts.
 */

t.test('the faithful simulator passes every requirement', async (t) => {
  const identity = generateLockIdentity();
  const { report } = await judge(
    t,
    { engine: { identity } },
    ['session', 'read', 'events', 'hostile'],
    identity.publicKey,
  );
  const failed = report.results.filter((r) => r.verdict !== 'pass');
  // TIME-1 is a SHOULD measured on this machine: reported, never decisive.
  t.same(
    failed.filter((r) => r.id !== 'TIME-1'),
    [],
    'no requirement fails or is skipped',
  );
  t.equal(report.conforms, true);
  t.same(
    report.notRun,
    ['LINE-4', 'LINE-5', 'BIN-1', 'BIN-2', 'BIN-3', 'BIN-4', 'BIN-5', 'ADV-1', 'GATT-1'],
    'only the line-timeout, binary, advertising and gatt groups were left out (binary.test.ts, advertising.test.ts and cli/conformance-ble.test.ts run the others)',
  );
  t.ok(report.results.find((r) => r.id === 'READ-3')?.evidence.includes('resumed at byte'));
});

t.test('a wrong provisioned key fails AUTH-2; none given skips it', async (t) => {
  const wrong = await judge(t, {}, ['session'], generateLockIdentity().publicKey);
  t.equal(verdicts(wrong.report)['AUTH-2'], 'fail');
  t.equal(wrong.report.conforms, false);
  const none = await judge(t, {}, ['session']);
  t.equal(verdicts(none.report)['AUTH-2'], 'skip');
  t.equal(none.report.conforms, true, 'a skipped requirement does not fail the lock');
});

/** [fault, simulator options, groups run, the requirement it must fail]. */
const FAULTS: [string, SerialLockSetupOptions, CheckGroup[], string][] = [
  ['--drop-rate 0.3', { faults: { dropRate: 0.3, seed: 4 } }, ['session'], 'SESS-1'],
  ['--replay-rate 0.5', { faults: { replayRate: 0.5, seed: 4 } }, ['session'], 'SESS-1'],
  [
    '--stall-after 3',
    { faults: { stall: { afterResponses: 3, durationMs: 30_000 } } },
    ['session'],
    'SESS-1',
  ],
  ['--corrupt-rate 0.3', { faults: { corruptCrcRate: 0.3, seed: 4 } }, ['session'], 'FRAME-1'],
  [
    '--oversize-frame-after 3',
    { faults: { oversizeFrameLength: { afterResponses: 3 } } },
    ['session'],
    'FRAME-1',
  ],
  ['--endless-line-after 3', { faults: { endlessLine: { afterResponses: 3 } } }, ['session'], 'LINE-1'],
  [
    '--slow-loris-after 3',
    { faults: { slowLoris: { afterResponses: 3, byteIntervalMs: 300 } } },
    ['session'],
    'LINE-1',
  ],
  ['--crlf', { faults: { crlf: true } }, ['session'], 'LINE-2'],
  ['--non-canonical', { faults: { nonCanonical: true } }, ['session'], 'FRAME-5'],
  ['--cloned', { engine: { signingKeyOverride: generateLockIdentity().secretKey } }, ['session'], 'AUTH-1'],
  ['--skip-session-check', { engine: { quirks: { noSessionCheck: true } } }, ['session'], 'SESS-3'],
  ['--skip-version-error', { engine: { quirks: { noVersionError: true } } }, ['session'], 'HELLO-2'],
  ['--hello-version 2', { engine: { quirks: { helloVersion: 2 } } }, ['session'], 'HELLO-1'],
  ['--info-mismatch', { engine: { quirks: { infoMismatch: true } } }, ['session'], 'HELLO-3'],
  ['--latency-ms 300', { faults: { latencyMs: 300 } }, ['session'], 'TIME-1'],
  ['--wrong-hash', { engine: { announcedHashOverride: Buffer.alloc(32, 1) } }, ['read'], 'READ-1'],
  ['--oversize-manifest', { engine: { announcedSizeOverride: 0xfffffff0 } }, ['read'], 'READ-1'],
  ['--disconnect-after 3000', { faults: { disconnect: { afterManifestBytes: 3000 } } }, ['read'], 'READ-1'],
  ['--sequential-reads', { engine: { quirks: { sequentialReads: true } } }, ['read'], 'READ-2'],
  ['--sequential-reads (resume)', { engine: { quirks: { sequentialReads: true } } }, ['read'], 'READ-3'],
  ['--lenient-range', { engine: { quirks: { lenientRange: true } } }, ['read'], 'READ-4'],
  ['--busy-below-window', { faults: { busyBelowWindow: true } }, ['read'], 'SESS-5'],
  ['--reorder-answers', { faults: { reorderAnswers: true } }, ['read'], 'SESS-6'],
  ['--events-ignore-max', { engine: { quirks: { eventsIgnoreMax: true } } }, ['events'], 'EV-1'],
  ['--log bad-signature', { logKind: 'bad-signature' }, ['events'], 'EV-2'],
  ['--log empty', { logKind: 'empty' }, ['events'], 'EV-3'],
  ['--log foreign-commit', { logKind: 'foreign-commit' }, ['events'], 'EV-3'],
  ['--answer-corrupt-requests', { faults: { answerCorruptRequests: true } }, ['hostile'], 'FRAME-2'],
  ['--silent-unknown-type', { engine: { quirks: { silentUnknownType: true } } }, ['hostile'], 'FRAME-3'],
  ['--silent-malformed', { engine: { quirks: { silentMalformed: true } } }, ['hostile'], 'FRAME-4'],
  ['--answer-duplicates', { engine: { quirks: { answerDuplicates: true } } }, ['hostile'], 'SESS-2'],
  ['--overlong-restart', { faults: { overlongRestart: true } }, ['hostile'], 'LINE-3'],
];

for (const [fault, setup, groups, id] of FAULTS) {
  t.test(`${fault}: ${id} fails`, async (t) => {
    const { report } = await judge(t, setup, groups);
    const failed = failedIds(report);
    t.ok(failed.includes(id), `${id} among the failures (${failed.join(', ') || 'none'})`);
    const result = report.results.find((r) => r.id === id)!;
    t.ok(result.evidence.length > 0, `evidence: ${result.evidence}`);
    t.equal(
      report.conforms,
      result.level !== 'MUST' &&
        failed.every((f) => report.results.find((r) => r.id === f)!.level === 'SHOULD'),
    );
  });
}
