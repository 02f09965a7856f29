import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import fc from 'fast-check';
import { checkNoPrototypePollution, describe, FuzzFinding } from './expect.js';
import type { CaseRecorder } from './recorder.js';
import type { FuzzTarget, TargetRun } from './target.js';

export interface CampaignOptions {
  /** Cases to run. */
  iterations: number;
  /** fast-check seed; the same seed replays the same cases. */
  seed: number;
  /** A case slower than this (twice in a row) is a finding. Default 2000 ms. */
  caseLimitMs?: number;
  /** Heap growth between warm-up and the end (after a full GC) beyond this is a finding. Default 64 MiB. */
  heapGrowthLimitMb?: number;
  /** Distinct findings after which the campaign stops. Default 5. */
  maxFindings?: number;
  recorder?: CaseRecorder;
  onProgress?: (progress: CampaignProgress) => void;
}

export interface CampaignProgress {
  cases: number;
  heapUsedMb: number;
}

export interface CampaignFinding {
  message: string;
  /** The shrunk counterexample, as the target records it (base64). */
  input: string;
  seed: number;
  /** fast-check's path to replay it: `fc.check(..., { seed, path })`. */
  path: string | undefined;
  stack?: string;
}

export interface CampaignResult {
  target: string;
  description: string;
  cases: number;
  durationMs: number;
  casesPerSecond: number;
  /** The slowest case, ms. */
  maxCaseMs: number;
  /** Heap used after a full GC once warmed up, and at the end; the peak seen between. */
  heapWarmMb: number;
  heapEndMb: number;
  heapPeakMb: number;
  /** How the cases ended (error code or `ok`…), so the report shows how deep they reached. */
  outcomes: Record<string, number>;
  findings: CampaignFinding[];
}

const WARM_UP_CASES = 1000;
const SAMPLE_EVERY = 2000;

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const heapUsed = () => v8.getHeapStatistics().used_heap_size;
const fullGc = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * Runs one target's cases with fast-check: each case must end without an untyped exception
 * (the target's own assertions decide what is allowed), within the time bound, leaving
 * Object.prototype alone; heap is measured after a full GC once warmed up and at the end.
 * A failing case is shrunk and recorded, and the campaign goes on with the next seed until
 * the iterations are done or `maxFindings` distinct findings were made.
 */
export async function runCampaign<T>(
  target: FuzzTarget<T>,
  options: CampaignOptions,
): Promise<CampaignResult> {
  const run: TargetRun<T> = await target.setup();
  const caseLimitMs = options.caseLimitMs ?? 2000;
  const maxFindings = options.maxFindings ?? 5;
  const findings: CampaignFinding[] = [];
  let cases = 0;
  let maxCaseMs = 0;
  let heapWarm = 0;
  let heapPeak = 0;
  let seed = options.seed;
  const outcomes = new Map<string, number>();

  const afterCase = (elapsed: number, outcome: string) => {
    cases++;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (elapsed > maxCaseMs) maxCaseMs = elapsed;
    if (cases === WARM_UP_CASES) {
      fullGc();
      heapWarm = heapUsed();
    }
    if (cases % SAMPLE_EVERY === 0) {
      const used = heapUsed();
      if (used > heapPeak) heapPeak = used;
      options.onProgress?.({ cases, heapUsedMb: mb(used) });
    }
  };
  const slow = (elapsed: number, retried: number) =>
    new FuzzFinding(
      `case took ${Math.round(elapsed)} ms, then ${Math.round(retried)} ms again (limit ${caseLimitMs})`,
    );

  const started = performance.now();
  while (cases < options.iterations && findings.length < maxFindings) {
    const remaining = options.iterations - cases;
    const property = run.async
      ? fc.asyncProperty(run.arbitrary, async (input) => {
          options.recorder?.start(run.record(input));
          const t0 = performance.now();
          const outcome = await run.check(input);
          checkNoPrototypePollution();
          const elapsed = performance.now() - t0;
          afterCase(elapsed, outcome);
          if (elapsed > caseLimitMs) {
            const t1 = performance.now();
            await run.check(input);
            const again = performance.now() - t1;
            if (again > caseLimitMs) throw slow(elapsed, again);
          }
        })
      : fc.property(run.arbitrary, (input) => {
          options.recorder?.start(run.record(input));
          const t0 = performance.now();
          const outcome = run.check(input) as string;
          checkNoPrototypePollution();
          const elapsed = performance.now() - t0;
          afterCase(elapsed, outcome);
          if (elapsed > caseLimitMs) {
            const t1 = performance.now();
            run.check(input);
            const again = performance.now() - t1;
            if (again > caseLimitMs) throw slow(elapsed, again);
          }
        });
    const before = cases;
    const details = await fc.check(property as fc.IRawProperty<[T], boolean>, { numRuns: remaining, seed });
    if (!details.failed) break;
    const error = details.errorInstance;
    const message = error instanceof FuzzFinding ? error.message : `unexpected ${describe(error)}`;
    const counterexample = details.counterexample?.[0] as T | undefined;
    if (!findings.some((f) => f.message === message)) {
      findings.push({
        message,
        input: counterexample === undefined ? '' : Buffer.from(run.record(counterexample)).toString('base64'),
        seed,
        path: details.counterexamplePath ?? undefined,
        ...(error instanceof Error && error.stack ? { stack: causeStack(error) } : {}),
      });
    }
    // Shrinking re-ran cases; count only the ones generated before the failure.
    cases = before + details.numRuns;
    seed++;
  }
  const durationMs = performance.now() - started;
  fullGc();
  const heapEnd = heapUsed();
  if (heapWarm > 0 && options.heapGrowthLimitMb !== undefined) {
    const growthMb = mb(heapEnd - heapWarm);
    if (growthMb > options.heapGrowthLimitMb) {
      findings.push({
        message: `heap grew by ${growthMb} MiB over the campaign (limit ${options.heapGrowthLimitMb} MiB)`,
        input: '',
        seed: options.seed,
        path: undefined,
      });
    }
  }
  return {
    target: target.name,
    description: target.description,
    cases,
    durationMs: Math.round(durationMs),
    casesPerSecond: Math.round(cases / (durationMs / 1000)),
    maxCaseMs: Math.round(maxCaseMs * 10) / 10,
    heapWarmMb: mb(heapWarm),
    heapEndMb: mb(heapEnd),
    heapPeakMb: mb(Math.max(heapPeak, heapEnd)),
    outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
    findings,
  };
}

function causeStack(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? `\ncaused by ${cause.stack}` : '';
  return `${error.stack}${inner}`.split('\n').slice(0, 24).join('\n');
}
