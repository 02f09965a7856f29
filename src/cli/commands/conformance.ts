import type { Command } from 'commander';
import { registerExchangeConformance } from './conformance-exchange.js';

/**
 * Conformance kits: check an implementation someone else built from our specs the way the
 * other side of the wire will use it (docs/CONFORMANCE.md). One subcommand per spec.
 */
export function register(program: Command): void {
  const conformance = program
    .command('conformance')
    .description('conformance kits: test another party’s implementation against the specs');
  registerExchangeConformance(conformance);
}
