#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isCtopError, toCtopError } from '../errors.js';
import { agentVersion } from '../version.js';
import { commands } from './commands/index.js';

/**
 * The `ctop-agent` command line. Each command lives in src/cli/commands/ and registers
 * itself; errors end here, are printed with their code and hint, and choose the exit
 * code (src/errors.ts EXIT_CODES, listed in the README).
 */
export function buildProgram(): Command {
  const program = new Command('ctop-agent')
    .description(
      'Edge agent of the KZ–CN CTOP rail corridor: safe and smart locks, customs manifests, exchange sync',
    )
    .version(agentVersion())
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
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
