import type fc from 'fast-check';

/**
 * One fuzzing campaign's subject. `setup` builds the seeds (valid inputs the mutators start
 * from) and keys once; `check` runs one case and throws a `FuzzFinding` when an assertion
 * fails — anything else it throws is a finding too.
 */
export interface FuzzTarget<T = unknown> {
  name: string;
  /** One line for the report: what is fed and what is asserted. */
  description: string;
  setup(): Promise<TargetRun<T>> | TargetRun<T>;
}

/** How a case ended: an error code, or `ok` / a label for the layer it passed. */
export type Outcome = string;

export interface TargetRun<T> {
  arbitrary: fc.Arbitrary<T>;
  /**
   * Runs one case; returns how far it got (the error code that stopped it, or `ok`) so the
   * report shows which layers the cases reached. Asynchronous targets return a promise.
   */
  check(input: T): Outcome | Promise<Outcome>;
  /** Bytes that reproduce the case, written to var/fuzz/ on a crash, hang or memory blow-up. */
  record(input: T): Uint8Array;
  async?: boolean;
}
