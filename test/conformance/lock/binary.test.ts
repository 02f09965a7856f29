import t from 'tap';
import { runLockConformance } from '../../../src/conformance/lock/suite.js';
import { appendEvents } from '../../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine } from '../../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../../src/sim/lock/memory-link.js';
import { type LockFaults, SimulatedLock } from '../../../src/sim/lock/simulated-lock.js';
import { judge, verdicts } from './helpers.js';

/**
 * The kit's binary-framing group (PROTOCOL.md §13.4, BIN-1 … BIN-5): on BLE links (here the
 * in-process link standing for GATT) against the simulator and its faults; on a serial pty
 * the offer must be ignored.
 */

const identity = generateLockIdentity();
const manifest = Buffer.alloc(9000);
for (let i = 0; i < manifest.byteLength; i++) manifest[i] = (i * 7) & 0xff;
const events = appendEvents('SSL-KZ-KIT', identity.secretKey, [], [{ kind: 1, time: 1_790_000_000 }]);

async function overBle(faults: LockFaults = {}) {
  const lock = new SimulatedLock(
    new LockEngine({ lockId: 'SSL-KZ-KIT', identity, manifest, events }),
    faults,
  );
  const report = await runLockConformance({
    open: async () => memoryLinkTo(lock, undefined, 'ble'),
    transport: 'ble',
    groups: ['binary'],
    answerTimeoutMs: 500,
  });
  lock.detach();
  return report;
}

t.test('BLE: the faithful simulator passes BIN-1, -2, -3 and -5; BIN-4 needs serial', async (t) => {
  const report = await overBle();
  const v = verdicts(report);
  t.same(
    [v['BIN-1'], v['BIN-2'], v['BIN-3'], v['BIN-4'], v['BIN-5']],
    ['pass', 'pass', 'pass', 'skip', 'pass'],
    report.results
      .filter((r) => r.id.startsWith('BIN'))
      .map((r) => `${r.id} ${r.verdict}: ${r.evidence}`)
      .join('; '),
  );
  t.match(
    report.results.find((r) => r.id === 'BIN-2')?.evidence,
    /9000 bytes read in binary frames: SHA-256 = mhash/,
  );
  t.equal(report.conforms, true);
});

t.test('BLE: a lock of revision 1.1 declines, and conforms', async (t) => {
  const report = await overBle({ lineOnly: true });
  const v = verdicts(report);
  t.same([v['BIN-1'], v['BIN-2'], v['BIN-3'], v['BIN-5']], ['pass', 'skip', 'skip', 'skip']);
  t.equal(report.conforms, true);
});

const FAULTS: [string, LockFaults, string][] = [
  ['switches unasked', { binaryUnasked: true }, 'BIN-1'],
  ['reads a `~` between frames as a header', { noLinesBetweenFrames: true }, 'BIN-3'],
  ['stays on the link after a broken binary frame', { keepLinkOnBrokenBinary: true }, 'BIN-5'],
];

for (const [name, faults, id] of FAULTS) {
  t.test(`BLE: a lock that ${name} fails ${id}`, async (t) => {
    const report = await overBle(faults);
    t.equal(verdicts(report)[id], 'fail', report.results.find((r) => r.id === id)?.evidence ?? '');
    t.equal(report.conforms, false);
  });
}

t.test('serial: the offer is ignored (BIN-4); the BLE requirements are skipped', async (t) => {
  const { report } = await judge(t, {}, ['binary']);
  const v = verdicts(report);
  t.same(
    [v['BIN-1'], v['BIN-2'], v['BIN-3'], v['BIN-4'], v['BIN-5']],
    ['skip', 'skip', 'skip', 'pass', 'skip'],
  );
  t.equal(report.conforms, true);
});
