import type { Clock } from '../clock.js';
import type { PrivateKey } from '../keys/index.js';
import { containerCheckDigit, wagonCheckDigit } from '../manifest/identifiers/index.js';
import { composeManifest, type RecipientKey, sealManifest } from '../manifest/index.js';

export interface TrainLockPlan {
  index: number;
  lockId: string;
  /** ISO 6346, check digit computed. */
  container: string;
  /** 1520-gauge, check digit computed; two containers per wagon. */
  wagon: string;
  /** The signed, encrypted manifest the lock carries. */
  manifest: Buffer;
}

export interface TrainManifestOptions {
  count: number;
  /** Train/consist number written into every manifest. */
  train: string;
  /** A goods file object (as in fixtures/manifests/*.json) used as the template. */
  template: Record<string, unknown>;
  signer: PrivateKey;
  recipients: readonly RecipientKey[];
  /** Lock ids: default `SSL-KZ-` + 6 digits from 200000. */
  lockId?: (index: number) => string;
  clock?: Clock;
}

export function trainContainer(index: number): string {
  const first10 = `CTPU${String(100000 + index).padStart(6, '0')}`;
  return `${first10}${containerCheckDigit(first10)}`;
}

export function trainWagon(index: number): string {
  const first7 = String(5900000 + Math.floor(index / 2)).padStart(7, '0');
  return `${first7}${wagonCheckDigit(first7)}`;
}

/**
 * Real manifests for a simulated train, one per lock, each naming its own lock, container
 * and wagon (a manifest read from another lock than the one it names is flagged), composed,
 * encrypted for the customs recipients and signed like the carrier's would be.
 */
export function composeTrainManifests(options: TrainManifestOptions): TrainLockPlan[] {
  const lockId = options.lockId ?? ((i: number) => `SSL-KZ-${String(200000 + i)}`);
  const plans: TrainLockPlan[] = [];
  for (let index = 0; index < options.count; index++) {
    const input = {
      ...options.template,
      lockId: lockId(index),
      container: trainContainer(index),
      wagon: trainWagon(index),
      train: options.train,
    };
    const { manifest } = composeManifest(input, options.clock ? { clock: options.clock } : {});
    plans.push({
      index,
      lockId: input.lockId,
      container: input.container,
      wagon: input.wagon,
      manifest: sealManifest(manifest, { signer: options.signer, recipients: options.recipients }),
    });
  }
  return plans;
}
