#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isCtopError, toCtopError } from '../errors.js';
import { agentVersion } from '../version.js';
import type { RegisterCommand } from './commands/index.js';

/**
 * The module of each top-level command. A call loads only the module of the command it
 * runs: most commands need neither the MQTT client nor the web server nor noble, and
 * loading everything cost a `ctop-agent keys list` three times its work (on a gateway's
 * ARM core, and in the tests, which start the CLI some eighty times). Anything else —
 * `--help`, `--version`, a command not listed here — loads them all.
 */
const COMMAND_MODULES: Record<string, () => Promise<{ register: RegisterCommand }>> = {
  read: () => import('./commands/read.js'),
  'lock-sim': () => import('./commands/lock-sim.js'),
  train: () => import('./commands/train.js'),
  'ble-sim': () => import('./commands/ble-sim.js'),
  demo: () => import('./commands/demo.js'),
  daemon: () => import('./commands/daemon.js'),
  config: () => import('./commands/config.js'),
  manifest: () => import('./commands/manifest.js'),
  keys: () => import('./commands/keys.js'),
  manifests: () => import('./commands/manifests.js'),
  locks: () => import('./commands/locks.js'),
  outbox: () => import('./commands/outbox.js'),
  outages: () => import('./commands/outages.js'),
  export: () => import('./commands/export.js'),
  import: () => import('./commands/export.js'),
  backup: () => import('./commands/backup.js'),
  restore: () => import('./commands/backup.js'),
  pair: () => import('./commands/pair.js'),
  console: () => import('./commands/console.js'),
  conformance: () => import('./commands/conformance.js'),
};

/**
 * The `ctop-agent` command line. Each command lives in src/cli/commands/ and registers
 * itself; errors end here, are printed with their code and hint, and choose the exit
 * code (src/errors.ts EXIT_CODES, listed in the README). With `argv`, only the command it
 * names is registered (COMMAND_MODULES); without, all of them.
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command('ctop-agent')
    .description(
      'Edge agent of the KZ–CN CTOP rail corridor: safe and smart locks, customs manifests, exchange sync',
    )
    .version(agentVersion())
    .showHelpAfterError()
    .exitOverride();
  const name = argv?.[2];
  const load = name !== undefined && Object.hasOwn(COMMAND_MODULES, name) ? COMMAND_MODULES[name] : undefined;
  if (load) (await load()).register(program);
  else for (const register of (await import('./commands/index.js')).commands) register(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    const e = toCtopError(err);
    process.stderr.write(`ctop-agent: ${e.code}: ${e.message}\n  what to do: ${e.hint}\n`);
    if (!isCtopError(err) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return e.exitCode;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/ctop-agent')) {
  main().then((code) => {
    process.exitCode = code;
  });
}
