import type { RequirementResult } from './findings.js';
import type { LockConformanceReport } from './suite.js';

const VERDICTS: Record<RequirementResult['verdict'], string> = { pass: 'pass', fail: 'FAIL', skip: 'skip' };

/**
 * The conformance table for a terminal: section, requirement (id and level), verdict,
 * evidence; then one line that says whether the lock conforms and what was not run.
 */
export function formatConformance(report: LockConformanceReport): string {
  const rows = report.results.map((r) => [
    `§${r.section}`,
    `${r.id} ${r.level}`,
    VERDICTS[r.verdict],
    r.evidence,
  ]);
  const header = ['section', 'requirement', 'result', 'evidence'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  const failedMust = report.results
    .filter((r) => r.level === 'MUST' && r.verdict === 'fail')
    .map((r) => r.id);
  const failedShould = report.results
    .filter((r) => r.level === 'SHOULD' && r.verdict === 'fail')
    .map((r) => r.id);
  const lock = report.lockId ? `lock ${report.lockId} (${report.firmware ?? '?'})` : 'the lock';
  const verdict =
    failedMust.length === 0
      ? `${lock} meets every MUST requirement tested${failedShould.length ? `; SHOULD not met: ${failedShould.join(', ')}` : ''}`
      : `${lock} FAILS ${failedMust.length} MUST requirement(s): ${failedMust.join(', ')}`;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w)).concat('-'.repeat(8))),
    ...rows.map(line),
    '',
    `${verdict} (${(report.durationMs / 1000).toFixed(1)} s)`,
    ...(report.notRun.length ? [`not run in this run: ${report.notRun.join(', ')}`] : []),
    '',
  ].join('\n');
}
