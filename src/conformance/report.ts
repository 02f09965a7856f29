import { writeFileAtomic } from '../atomic-file.js';
import { renderTable } from '../manifest/render.js';

/**
 * What a conformance kit (`ctop-agent conformance …`) reports: one row per requirement of
 * the spec it checked, with the evidence it saw, printed as a table and written as JSON.
 * A run passes when no MUST failed; a requirement the kit could not check (an option not
 * given) is `skip`, never `pass`.
 */

export type RequirementLevel = 'MUST' | 'SHOULD';
export type CheckOutcome = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id, e.g. `exchange.reject.bad_signature`: tests and CI scripts select by it. */
  id: string;
  /** The spec section, e.g. `EXCHANGE.md §5.3`. */
  section: string;
  level: RequirementLevel;
  /** The requirement in one line. */
  requirement: string;
  outcome: CheckOutcome;
  /** What was seen: the answer, the reason, the time — enough to act on a failure. */
  evidence: string;
}

export interface ConformanceReport {
  format: 'ctop-conformance/1';
  /** What was tested: `exchange`, `lock`. */
  target: string;
  startedAt: string;
  finishedAt: string;
  /** Where: broker, addresses, device — whatever identifies the implementation under test. */
  subject: Record<string, string>;
  checks: CheckResult[];
  /** Measured figures (reported, never judged), e.g. receipt latency. */
  figures: Record<string, number | string | Record<string, number>>;
  summary: Record<RequirementLevel, Record<CheckOutcome, number>>;
  /** Every MUST passed. */
  passed: boolean;
}

export function summarize(checks: readonly CheckResult[]): ConformanceReport['summary'] {
  const summary = {
    MUST: { pass: 0, fail: 0, skip: 0 },
    SHOULD: { pass: 0, fail: 0, skip: 0 },
  };
  for (const c of checks) summary[c.level][c.outcome]++;
  return summary;
}

export function buildReport(
  fields: Omit<ConformanceReport, 'format' | 'summary' | 'passed'>,
): ConformanceReport {
  const summary = summarize(fields.checks);
  return { format: 'ctop-conformance/1', ...fields, summary, passed: summary.MUST.fail === 0 };
}

/** The report as a plain-text table, one requirement per row, then the figures and the verdict. */
export function renderReport(report: ConformanceReport): string {
  const rows = report.checks.map((c) => [
    c.section,
    c.level,
    c.outcome.toUpperCase(),
    c.requirement,
    c.evidence.replace(/\s+/g, ' '),
  ]);
  const { MUST, SHOULD } = report.summary;
  const figures = Object.entries(report.figures).map(
    ([name, value]) => `${name}: ${typeof value === 'object' ? JSON.stringify(value) : value}`,
  );
  return [
    renderTable(['SECTION', 'LEVEL', 'RESULT', 'REQUIREMENT', 'EVIDENCE'], rows),
    '',
    ...figures,
    `MUST ${MUST.pass} passed, ${MUST.fail} failed, ${MUST.skip} not checked; ` +
      `SHOULD ${SHOULD.pass} passed, ${SHOULD.fail} failed, ${SHOULD.skip} not checked — ` +
      (report.passed ? 'CONFORMS' : 'DOES NOT CONFORM'),
    '',
  ].join('\n');
}

export function writeReport(file: string, report: ConformanceReport): void {
  writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`, 0o644);
}
