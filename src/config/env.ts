import { type Document, isCollection, parse } from 'yaml';
import { configSchema } from './schema.js';
import { formatPath, keysAt } from './schema-walk.js';

/**
 * Environment overrides: `CTOP_<SECTION>__<KEY>[__<KEY>…]=<value>`. Sections and keys are
 * matched without regard to case or underscores, so `CTOP_LOCKS__TRUST_ON_FIRST_USE=true`
 * sets `locks.trustOnFirstUse`; a number segment indexes a list (`CTOP_SYNC__BROKERS__0`).
 * Values are read as YAML (`30`, `true`, `[mqtt://a:1883, mqtt://b:1883]`; `''` is null).
 *
 * A variable whose first segment names no section is not ours (CTOP_LOG_LEVEL,
 * CTOP_MOSQUITTO) and is left alone; one that names a section but a key it does not have
 * is an error, so a misspelt override never goes unnoticed.
 */

export const ENV_PREFIX = 'CTOP_';

export interface EnvOverride {
  /** The variable's name, e.g. CTOP_SYNC__BROKERS. */
  name: string;
  /** The key path it sets. */
  path: (string | number)[];
}

export interface EnvProblem {
  name: string;
  message: string;
}

const squash = (s: string) => s.toLowerCase().replace(/_/g, '');

/** Reads a variable's text as YAML; text that is not valid YAML is taken as a string. */
export function parseEnvValue(raw: string): unknown {
  if (raw.trim() === '') return null;
  // No value is this long; the YAML parser's time grows with the square of one (see load.ts).
  if (raw.length > 4096) return raw;
  try {
    // Warnings (an unknown tag) would go to process.emitWarning, outside the JSON log.
    return parse(raw, { logLevel: 'error' });
  } catch {
    return raw;
  }
}

/** Sets every CTOP_* override into the document; returns what was set and what could not be. */
export function applyEnvOverrides(
  doc: Document,
  env: NodeJS.ProcessEnv,
): { overrides: EnvOverride[]; problems: EnvProblem[] } {
  const overrides: EnvOverride[] = [];
  const problems: EnvProblem[] = [];
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX))
    .sort();
  for (const name of names) {
    const segments = name.slice(ENV_PREFIX.length).split('__');
    const sections = keysAt(configSchema, []);
    if (!sections.some((k) => squash(k) === squash(segments[0] ?? ''))) continue;
    const path: (string | number)[] = [];
    let problem: string | undefined;
    for (const segment of segments) {
      if (/^\d+$/.test(segment)) {
        path.push(Number(segment));
        continue;
      }
      const keys = keysAt(configSchema, path);
      const key = keys.find((k) => squash(k) === squash(segment));
      if (!key) {
        problem =
          keys.length === 0
            ? `${formatPath(path)} has no keys below it (expected ${ENV_PREFIX}${segments.slice(0, path.length).join('__')})`
            : `${formatPath(path)} has no key "${segment}" (expected one of: ${keys.join(', ')})`;
        break;
      }
      path.push(key);
    }
    if (problem) {
      problems.push({ name, message: problem });
      continue;
    }
    if (doc.contents === null || !isCollection(doc.contents)) doc.contents = doc.createNode({});
    try {
      doc.setIn(path, doc.createNode(parseEnvValue(env[name] ?? '')));
      overrides.push({ name, path });
    } catch (err) {
      problems.push({ name, message: `cannot set ${formatPath(path)}: ${(err as Error).message}` });
    }
  }
  return { overrides, problems };
}

/** The variable that set `path` or one of its parents, if any. */
export function overrideFor(
  overrides: readonly EnvOverride[],
  path: readonly PropertyKey[],
): string | undefined {
  let best: EnvOverride | undefined;
  for (const o of overrides) {
    if (o.path.length <= path.length && o.path.every((k, i) => k === path[i])) {
      if (!best || o.path.length > best.path.length) best = o;
    }
  }
  return best?.name;
}
