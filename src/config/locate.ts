import { type Document, isMap, isNode, isScalar, type LineCounter, type Node } from 'yaml';
import { type EnvOverride, overrideFor } from './env.js';

/**
 * Where a key of the configuration came from, for messages: `config.yaml:12` for a value
 * in the file, `environment CTOP_SYNC__BROKERS` for an override, `config.yaml` when the key
 * is missing and not even its section is written.
 */
export class ConfigLocator {
  readonly #file: string;
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #overrides: readonly EnvOverride[];

  constructor(file: string, doc: Document, lines: LineCounter, overrides: readonly EnvOverride[]) {
    this.#file = file;
    this.#doc = doc;
    this.#lines = lines;
    this.#overrides = overrides;
  }

  get file(): string {
    return this.#file;
  }

  /** The location of the value at `path`, or of the nearest written key above it. */
  locate(path: readonly PropertyKey[]): string {
    const env = overrideFor(this.#overrides, path);
    if (env) return `environment ${env}`;
    const value = this.#doc.getIn(path as unknown[], true);
    if (isNode(value) && value.range) return this.#at(value.range[0]);
    for (let n = path.length; n > 0; n--) {
      const key = this.#keyNode(path.slice(0, n));
      if (key?.range) return this.#at(key.range[0]);
    }
    return this.#file;
  }

  /** The location of the key itself (for unknown keys: the line that spells it). */
  locateKey(path: readonly PropertyKey[]): string {
    const env = overrideFor(this.#overrides, path);
    if (env) return `environment ${env}`;
    const key = this.#keyNode(path);
    return key?.range ? this.#at(key.range[0]) : this.locate(path.slice(0, -1));
  }

  #keyNode(path: readonly PropertyKey[]): Node | undefined {
    if (path.length === 0) return undefined;
    const parentPath = path.slice(0, -1) as unknown[];
    const parent = parentPath.length === 0 ? this.#doc.contents : this.#doc.getIn(parentPath, true);
    if (!isMap(parent)) return undefined;
    const last = path[path.length - 1];
    for (const pair of parent.items) {
      const k = pair.key;
      if (isScalar(k) && k.value === last) return k;
    }
    return undefined;
  }

  #at(offset: number): string {
    return `${this.#file}:${this.#lines.linePos(offset).line}`;
  }
}
