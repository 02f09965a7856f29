import type { Test } from 'tap';
import {
  type CheckGroup,
  type LockConformanceReport,
  runLockConformance,
} from '../../../src/conformance/lock/suite.js';
import { type SerialLockSetupOptions, startSerialLock } from '../../helpers/serial-lock.js';

/** The kit against a simulated lock on a real pty at 115200 baud; only `groups` run. */
export async function judge(
  t: Test,
  setup: SerialLockSetupOptions,
  groups?: CheckGroup[],
  pinnedKey?: Uint8Array,
): Promise<{ report: LockConformanceReport; key: Uint8Array }> {
  const lock = await startSerialLock({ baudRate: 115200, manifestSize: 9000, ...setup });
  t.teardown(lock.close);
  const report = await runLockConformance({
    open: lock.open,
    bytesPerSecond: lock.baudRate / 10,
    ...(groups ? { groups } : {}),
    ...(pinnedKey ? { pinnedKey } : {}),
  });
  return { report, key: lock.lock.engine.info().key };
}

export function verdicts(report: LockConformanceReport): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
}

export function failedIds(report: LockConformanceReport): string[] {
  return report.results.filter((r) => r.verdict === 'fail').map((r) => r.id);
}
