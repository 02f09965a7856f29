import type { Command } from 'commander';
import { registerExchangeConformance } from './conformance-exchange.js';
import { registerLockConformance } from './conformance-lock.js';

/**
 * Conformance kits: check an implementation someone else built from our specs the way the
 * other side of the wire will use it (docs/CONFORMANCE.md). One subcommand per spec, one
 * report format (src/conformance/report.ts).
 */
export function register(program: Command): void {
  const conformance = program
    .command('conformance')
    .description('conformance kits: test another party’s implementation against the specs');
  registerLockConformance(conformance);
  registerExchangeConformance(conformance);
}
