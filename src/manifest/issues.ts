import { CtopError, type ErrorCode } from '../errors.js';

/** One problem found while validating, with where it is: a field path and, for files, a line. */
export interface ManifestIssue {
  /** Field path, e.g. `goods[12].hs` or `consignor.id`. */
  path: string;
  code: ErrorCode;
  message: string;
  /** Line in the goods file, when the manifest came from one. */
  line?: number;
  severity: 'error' | 'warning';
}

/**
 * - `input`: a goods file being composed: strings are trimmed, numbers may be JSON numbers
 *   or strings, door-style container numbers are normalised, missing line numbers assigned.
 * - `wire`: a decoded manifest: every value must already be in its one canonical form.
 */
export type ValidationMode = 'input' | 'wire';

/** Maps a field path to a line of the source file, when known. */
export type LineLocator = (path: string) => number | undefined;

const MAX_LISTED = 25;

export class Issues {
  readonly errors: ManifestIssue[] = [];
  readonly warnings: ManifestIssue[] = [];
  readonly mode: ValidationMode;
  readonly #locate: LineLocator | undefined;

  constructor(mode: ValidationMode, locate?: LineLocator) {
    this.mode = mode;
    this.#locate = locate;
  }

  #make(path: string, code: ErrorCode, message: string, severity: ManifestIssue['severity']): ManifestIssue {
    const line = this.#locate?.(path);
    return line === undefined ? { path, code, message, severity } : { path, code, message, line, severity };
  }

  error(path: string, code: ErrorCode, message: string): undefined {
    this.errors.push(this.#make(path, code, message, 'error'));
    return undefined;
  }

  warn(path: string, code: ErrorCode, message: string): void {
    this.warnings.push(this.#make(path, code, message, 'warning'));
  }

  get ok(): boolean {
    return this.errors.length === 0;
  }

  /**
   * Throws when there are errors: the code of the first error (so a single problem gets its
   * specific code), the message listing every error with its line and path, and all of them
   * in `details.issues`.
   */
  throwIfAny(source?: string): void {
    const first = this.errors[0];
    if (!first) return;
    const lines = this.errors.slice(0, MAX_LISTED).map((i) => `  ${formatIssue(i, source)}`);
    if (this.errors.length > MAX_LISTED) lines.push(`  … and ${this.errors.length - MAX_LISTED} more`);
    const count = this.errors.length === 1 ? '1 problem' : `${this.errors.length} problems`;
    throw new CtopError(first.code, `${source ?? 'manifest'}: ${count}:\n${lines.join('\n')}`, {
      details: { issues: this.errors, ...(source === undefined ? {} : { source }) },
    });
  }
}

/** `goods.csv:14: goods[12].hs: "1234" is not … [E_MANIFEST_HS_CODE]` — like a compiler. */
export function formatIssue(issue: ManifestIssue, source?: string): string {
  const where = [source, issue.line].filter((x) => x !== undefined).join(':');
  return `${where ? `${where}: ` : ''}${issue.path || '(manifest)'}: ${issue.message} [${issue.code}]`;
}
