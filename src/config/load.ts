import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { CtopError } from '../errors.js';
import { applyEnvOverrides, type EnvOverride } from './env.js';
import { ConfigLocator } from './locate.js';
import { type AgentConfig, configSchema } from './schema.js';
import { describeAt, formatPath, keysAt } from './schema-walk.js';

export interface LoadedConfig {
  config: AgentConfig;
  /** The file as named by the caller; `(embedded)` for built-in configurations. */
  file: string;
  overrides: EnvOverride[];
  locator: ConfigLocator;
}

export interface LoadOptions {
  /** Environment for CTOP_* overrides; default process.env. Pass {} to ignore it. */
  env?: NodeJS.ProcessEnv;
  /** Relative paths in the configuration are taken from here; default the file's directory. */
  baseDir?: string;
}

/** Largest configuration file read; anything bigger is a mistake, not a configuration. */
const MAX_BYTES = 1024 * 1024;
/** Syntax errors named in the message; the first ones are the ones to fix. */
const MAX_SYNTAX_PROBLEMS = 20;

/** Reads, overrides from the environment, validates and fills in defaults. */
export function loadConfig(file: string, options: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    if (statSync(file).size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CtopError('E_CONFIG_FILE', `cannot read configuration ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    });
  }
  return parseConfig(text, file, { baseDir: path.dirname(path.resolve(file)), ...options });
}

/** The same from text (`file` names it in messages). */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): LoadedConfig {
  const lines = new LineCounter();
  // prettyErrors builds a context excerpt for every error, quadratic in their number: a file
  // of 18,000 stray tags took 17 s (found by scripts/fuzz). Positions are looked up here,
  // for the first few errors only.
  const doc = parseYaml(text, lines, file);
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, MAX_SYNTAX_PROBLEMS).map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
    });
    if (doc.errors.length > MAX_SYNTAX_PROBLEMS) {
      problems.push(`${file}: … and ${doc.errors.length - MAX_SYNTAX_PROBLEMS} more syntax errors`);
    }
    throw new CtopError('E_CONFIG_SYNTAX', problems.join('\n'), { details: { file, problems } });
  }
  return fromDocument(doc, lines, file, options);
}

/** Validates a configuration given as plain data (the embedded demo's), with the same messages. */
export function configFromObject(
  value: unknown,
  name = '(embedded)',
  options: LoadOptions = {},
): LoadedConfig {
  const doc = new Document(value);
  return fromDocument(doc, new LineCounter(), name, { env: {}, ...options });
}

function fromDocument(doc: Document, lines: LineCounter, file: string, options: LoadOptions): LoadedConfig {
  const { overrides, problems: envProblems } = applyEnvOverrides(doc, options.env ?? process.env);
  const locator = new ConfigLocator(file, doc, lines, overrides);
  const problems = envProblems.map((p) => `environment ${p.name}: ${p.message}`);
  const raw = doc.contents === null ? {} : toPlain(doc, file);
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    problems.push(...sortByLine(parsed.error.issues.flatMap((issue) => describeIssue(issue, locator))));
  }
  if (problems.length > 0) {
    throw new CtopError(
      'E_CONFIG_INVALID',
      `${problems.length === 1 ? 'a problem' : `${problems.length} problems`} in ${file}:\n${problems.join('\n')}`,
      { details: { file, problems } },
    );
  }
  const config = resolvePaths(parsed.data!, options.baseDir ?? process.cwd());
  return { config, file, overrides, locator };
}

/** Longest line accepted; the configuration's longest real value is a path or a password hash. */
export const MAX_LINE_CHARS = 4096;

/**
 * yaml's parser is quadratic in the node properties on one line: 16,000 tags on a line
 * took 3.7 s, a 1 MiB line would take minutes (found by scripts/fuzz). Bounding the line
 * bounds the work.
 */
function checkLineLengths(text: string, file: string): void {
  let start = 0;
  for (let line = 1; start <= text.length; line++) {
    const end = text.indexOf('\n', start);
    const stop = end === -1 ? text.length : end;
    if (stop - start > MAX_LINE_CHARS) {
      throw new CtopError(
        'E_CONFIG_SYNTAX',
        `${file}:${line}:1: a line of ${stop - start} characters (at most ${MAX_LINE_CHARS})`,
        { details: { file, problems: ['line too long'] } },
      );
    }
    if (end === -1) break;
    start = end + 1;
  }
}

/**
 * yaml's parser recurses once per nesting level: a line of 2,000 `: ` overflows the stack
 * before any error is collected (found by scripts/fuzz). No configuration nests that deep.
 */
function parseYaml(text: string, lines: LineCounter, file: string): Document.Parsed {
  checkLineLengths(text, file);
  try {
    return parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new CtopError(
      'E_CONFIG_SYNTAX',
      `${file}: nested too deeply to be a configuration (${err.message})`,
      {
        details: { file, problems: ['nested too deeply'] },
      },
    );
  }
}

/**
 * The document as plain data. Aliases resolve only here, so an alias to an anchor that was
 * never set, or an alias bomb past maxAliasCount, is a syntax error of the file (yaml throws
 * a bare ReferenceError for both; found by scripts/fuzz).
 */
function toPlain(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    throw new CtopError('E_CONFIG_SYNTAX', `${file}: ${message}`, { details: { file, problems: [message] } });
  }
}

/** Problems in file order (an operator fixes top-down); environment ones first. */
function sortByLine(problems: string[]): string[] {
  const line = (p: string) =>
    Number(/^[^:]*:(\d+):/.exec(p)?.[1] ?? (p.startsWith('environment ') ? 0 : 1e9));
  return problems
    .map((p, i) => ({ p, i, line: line(p) }))
    .sort((a, b) => a.line - b.line || a.i - b.i)
    .map((x) => x.p);
}

const quote = (value: unknown): string => {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
};

/** One issue as `<where>: <key>: <value> is not <what was expected>`. */
function describeIssue(issue: z.core.$ZodIssue, locator: ConfigLocator): string[] {
  const at = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(configSchema, at);
    return issue.keys.map(
      (key) =>
        `${locator.locateKey([...at, key])}: ${formatPath([...at, key])}: unknown key (expected one of: ${known.join(', ')})`,
    );
  }
  const where = locator.locate(at);
  const key = formatPath(at);
  if (issue.code === 'custom') return [`${where}: ${key}: ${issue.message}`];
  const input = (issue as { input?: unknown }).input;
  const expected = describeAt(configSchema, at);
  if (input === undefined) return [`${where}: ${key}: missing (expected ${expected ?? issue.message})`];
  if (!expected) return [`${where}: ${key}: ${quote(input)}: ${issue.message}`];
  return [`${where}: ${key}: ${quote(input)} is not ${expected}`];
}

/** Relative paths are taken from the configuration file's directory (systemd starts us in /). */
function resolvePaths(config: AgentConfig, baseDir: string): AgentConfig {
  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    ...config,
    gateway: { ...config.gateway, key: abs(config.gateway.key) },
    trust: { store: abs(config.trust.store) },
    locks: {
      ...config.locks,
      provisioned: config.locks.provisioned === null ? null : abs(config.locks.provisioned),
    },
    store: { ...config.store, path: abs(config.store.path) },
    serial: { ...config.serial, ports: config.serial.ports.map(abs) },
    ble: {
      ...config.ble,
      uart: config.ble.uart ? { ...config.ble.uart, port: abs(config.ble.uart.port) } : null,
    },
    console: {
      ...config.console,
      recipientKeys: config.console.recipientKeys.map(abs),
      https: config.console.https
        ? { certFile: abs(config.console.https.certFile), keyFile: abs(config.console.https.keyFile) }
        : null,
    },
    sync: {
      ...config.sync,
      ...(config.sync.passwordFile === undefined ? {} : { passwordFile: abs(config.sync.passwordFile) }),
      tls: config.sync.tls
        ? {
            ...config.sync.tls,
            caFile: abs(config.sync.tls.caFile),
            ...(config.sync.tls.certFile ? { certFile: abs(config.sync.tls.certFile) } : {}),
            ...(config.sync.tls.keyFile ? { keyFile: abs(config.sync.tls.keyFile) } : {}),
          }
        : null,
    },
  };
}
