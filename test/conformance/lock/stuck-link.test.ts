import t from 'tap';
import { runLockConformance } from '../../../src/conformance/lock/suite.js';
import type { LockLink } from '../../../src/lock/transport/link.js';

/**
 * A link that never settles an opening, a write or a close (a lock that stopped reading, a
 * port below node-serialport that never calls back) fails the checks that needed it; the
 * kit's run still ends with a report. Before the bound, each of these hung the run for good
 * (a fresh-clone CI run waited 20 minutes on one).
 */
const never = <T>() => new Promise<T>(() => {});

function link(overrides: Partial<LockLink>): LockLink {
  const reads: ((b: Uint8Array) => void)[] = [];
  let closed: ((e: Error) => void) | undefined;
  return {
    kind: 'serial',
    endpoint: 'stuck',
    bytesPerSecond: 11_520,
    // Nothing ever comes from the lock; a close ends the pending read.
    read: () =>
      new Promise<Uint8Array>((resolve, reject) => {
        reads.push(resolve);
        closed = reject;
      }),
    write: async () => {},
    close: async () => closed?.(new Error('closed')),
    ...overrides,
  };
}

const cases: [string, () => Promise<LockLink>][] = [
  ['an opening that never settles', () => never()],
  ['a write that never settles', async () => link({ write: () => never() })],
  ['a close that never settles', async () => link({ close: () => never() })],
];

for (const [name, open] of cases) {
  t.test(`${name}: the run ends, the lock does not conform`, async (t) => {
    const report = await runLockConformance({ open, answerTimeoutMs: 300, groups: ['session'] });
    t.equal(report.conforms, false);
    t.ok(
      report.results.some((r) => r.verdict === 'fail'),
      `failed: ${report.results
        .filter((r) => r.verdict === 'fail')
        .map((r) => `${r.id} (${r.evidence.slice(0, 80)})`)
        .join('; ')}`,
    );
  });
}
