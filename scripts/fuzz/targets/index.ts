import type { FuzzTarget } from '../lib/target.js';
import { configTarget } from './config.js';
import { envelopeTarget } from './envelope.js';
import { frameTarget } from './frame.js';
import { lineTarget } from './line.js';
import { manifestTarget } from './manifest.js';
import { receiptTarget } from './receipt.js';

/** Every campaign, in the order `npm run fuzz` runs them. */
export const TARGETS: readonly FuzzTarget<never>[] = [
  frameTarget,
  lineTarget,
  manifestTarget,
  envelopeTarget,
  receiptTarget,
  configTarget,
] as FuzzTarget<never>[];

export function findTarget(name: string): FuzzTarget<never> | undefined {
  return TARGETS.find((t) => t.name === name);
}
