/**
 * Shell commands that start and hard-stop an exchange process, as an operator would give
 * them to `ctop-agent conformance exchange --start-command … --stop-command …`
 * (docs/CONFORMANCE.md): the reference exchange (scripts/exchange.ts, built: REFERENCE_EXCHANGE)
 * or a broken variant (test/helpers/exchange-variant-process.ts, from source). The process is
 * SIGKILLed at teardown.
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { built } from './built.js';
import type { SyncWorld } from './sync-world.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** scripts/exchange.ts, built (built.ts). */
export const REFERENCE_EXCHANGE = built('scripts/exchange.ts');

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface ExchangeCommands {
  start: string;
  stop: string;
  /** The exchange's log (its stdout and stderr). */
  log: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function exchangeCommands(
  t: Teardown,
  world: SyncWorld,
  brokerUrl: string,
  options: { variant?: string; name?: string } = {},
): ExchangeCommands {
  const name = options.name ?? options.variant ?? 'reference';
  const db = path.join(world.dir, `${name}.db`);
  const log = path.join(world.dir, `${name}.log`);
  const pidFile = path.join(world.dir, `${name}.pid`);
  const entry =
    options.variant === undefined
      ? [REFERENCE_EXCHANGE, '--report', '0']
      : [
          '--import',
          'tsx',
          path.join(ROOT, 'test/helpers/exchange-variant-process.ts'),
          '--variant',
          options.variant,
        ];
  const args = [
    ...entry,
    '--broker',
    brokerUrl,
    '--db',
    db,
    '--key',
    world.files.exchangeKey,
    '--trust',
    world.files.exchangeTrust,
  ];
  const node = [process.execPath, ...args].map(quote).join(' ');
  // Returns once the exchange says it is ready (a safety net of 60 s, never expected).
  const start =
    `cd ${quote(ROOT)} || exit 1; ${node} > ${quote(log)} 2>&1 & pid=$!; echo $pid > ${quote(pidFile)}; ` +
    `i=0; until grep -q ready ${quote(log)} 2>/dev/null; do ` +
    `kill -0 $pid 2>/dev/null || { cat ${quote(log)} >&2; exit 1; }; ` +
    `i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.1; done`;
  // SIGKILL, then wait until the process is gone (a zombie counts as gone).
  const stop =
    `pid=$(cat ${quote(pidFile)}); kill -9 $pid; ` +
    `while s=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null) && [ "$s" != Z ]; do sleep 0.05; done`;
  t.teardown(() => {
    if (!existsSync(pidFile)) return;
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return { start, stop, log };
}

/** Runs the start command here (before the kit runs). */
export function startNow(commands: ExchangeCommands): void {
  execSync(commands.start, { stdio: 'ignore', shell: '/bin/sh', timeout: 90_000 });
}
