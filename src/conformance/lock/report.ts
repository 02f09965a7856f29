import { buildReport, type ConformanceReport } from '../report.js';
import type { LockConformanceReport } from './suite.js';

/**
 * The lock kit's results in the one report format of every conformance kit
 * (src/conformance/report.ts): one check per requirement of PROTOCOL.md §16, the lock and
 * the line in `subject`, the requirements a partial run left out in `figures.notRun`.
 */
export function toConformanceReport(
  lock: LockConformanceReport,
  subject: Record<string, string>,
): ConformanceReport {
  const report = buildReport({
    target: 'lock',
    startedAt: lock.startedAt,
    finishedAt: new Date(Date.parse(lock.startedAt) + lock.durationMs).toISOString(),
    subject: {
      ...subject,
      ...(lock.lockId ? { lockId: lock.lockId } : {}),
      ...(lock.firmware ? { firmware: lock.firmware } : {}),
    },
    checks: lock.results.map((r) => ({
      id: r.id,
      section: `PROTOCOL.md §${r.section}`,
      level: r.level,
      requirement: `${r.id}: ${r.requirement}`,
      outcome: r.verdict,
      evidence: r.evidence,
    })),
    figures: {
      durationMs: Math.round(lock.durationMs),
      ...(lock.notRun.length ? { notRun: lock.notRun.join(', ') } : {}),
    },
  });
  // `passed` is the suite's own verdict: a requirement that does not apply is a skip, never a fail.
  return { ...report, passed: lock.conforms };
}
