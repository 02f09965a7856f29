import { LOCK_REQUIREMENTS, type Requirement, type RequirementLevel } from './requirements.js';

export type Verdict = 'pass' | 'fail' | 'skip';

export interface RequirementResult {
  id: string;
  level: RequirementLevel;
  section: string;
  requirement: string;
  /** pass, fail, or skip (does not apply to this lock, e.g. AUTH-2 without a pinned key). */
  verdict: Verdict;
  /** What was sent and seen, enough for the vendor to find the fault. */
  evidence: string;
}

/** Longest evidence kept per requirement: a misbehaving lock can produce a lot of it. */
const MAX_EVIDENCE = 600;

/**
 * What the checks established, per requirement. A failure wins over passes; evidence of
 * the first failure is kept first. A requirement nothing reached fails: a MUST the kit could
 * not test is not a MUST the lock meets.
 */
export class Findings {
  readonly #passes = new Map<string, string[]>();
  readonly #failures = new Map<string, string[]>();
  readonly #skips = new Map<string, string>();
  readonly #interruptions: string[] = [];

  /** A group of checks stopped short (the link could not be opened, …): said for what it did not reach. */
  interrupted(why: string): void {
    this.#interruptions.push(why);
  }

  pass(id: string, evidence: string): void {
    push(this.#passes, id, evidence);
  }

  fail(id: string, evidence: string): void {
    push(this.#failures, id, evidence);
  }

  skip(id: string, why: string): void {
    if (!this.#skips.has(id)) this.#skips.set(id, why);
  }

  /** Passes `id` when `ok`, else fails it; returns `ok`. */
  check(id: string, ok: boolean, evidence: string): boolean {
    if (ok) this.pass(id, evidence);
    else this.fail(id, evidence);
    return ok;
  }

  failed(id: string): boolean {
    return this.#failures.has(id);
  }

  results(): RequirementResult[] {
    return LOCK_REQUIREMENTS.map((r) => this.#result(r));
  }

  #result(r: Requirement): RequirementResult {
    const base = { id: r.id, level: r.level, section: r.section, requirement: r.text };
    const failures = this.#failures.get(r.id);
    if (failures) {
      const more = failures.length > 1 ? ` (+${failures.length - 1} more)` : '';
      return { ...base, verdict: 'fail', evidence: cut(`${failures[0]}${more}`) };
    }
    const passes = this.#passes.get(r.id);
    if (passes) return { ...base, verdict: 'pass', evidence: cut(passes.join('; ')) };
    const skip = this.#skips.get(r.id);
    if (skip !== undefined) return { ...base, verdict: 'skip', evidence: cut(skip) };
    const why = this.#interruptions.length
      ? this.#interruptions.join('; ')
      : 'an earlier step failed (see above)';
    return { ...base, verdict: 'fail', evidence: cut(`not reached: ${why}`) };
  }
}

function push(map: Map<string, string[]>, id: string, evidence: string): void {
  const list = map.get(id) ?? [];
  if (list.length < 20) list.push(evidence);
  map.set(id, list);
}

function cut(text: string): string {
  return text.length > MAX_EVIDENCE ? `${text.slice(0, MAX_EVIDENCE - 1)}…` : text;
}
