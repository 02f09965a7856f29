/**
 * The simulated train of the drain-under-train bench, in a process of its own as the radio
 * hardware is: a standing train of locks (all in range from the start), each carrying a
 * real signed and encrypted manifest of about 16 KiB naming its own lock, container and
 * wagon, behind the BLE simulator's default link and controller (src/sim/ble). Prints one
 * JSON line `{ "port": <pty> }` once the radio is up; SIGTERM closes it.
 *
 * `node --import tsx scripts/bench/sync/train-child.ts <locks> <goods lines>`
 */

import { parseGoodsFile } from '../../../src/manifest/index.js';
import { startSimulatedTrain } from '../../../src/sim/ble-train.js';
import { composeTrainManifests } from '../../../src/sim/train-manifests.js';
import { consolidatedCsv, fixtureKeys } from '../../make-manifest-fixtures.js';

const count = Number(process.argv[2] ?? 110);
/** 67 goods lines of the consolidated template make a sealed manifest of about 16 KiB. */
const goodsLines = Number(process.argv[3] ?? 67);

const keys = fixtureKeys();
const template = parseGoodsFile(consolidatedCsv(goodsLines, 'bench-train'), 'csv').input;
const plans = composeTrainManifests({
  count,
  train: '7001',
  template: template as unknown as Record<string, unknown>,
  signer: keys.get('kz-customs-signer-1')!,
  recipients: ['kz-customs-recipient-1', 'cn-customs-recipient-1'].map((kid) => ({
    kid,
    publicKey: keys.get(kid)!.publicKey,
  })),
});
const train = await startSimulatedTrain({
  locks: plans.map((p) => ({
    lockId: p.lockId,
    manifest: p.manifest,
    container: p.container,
    // Standing in range for the whole run: the read time is the reader's, not the passage's.
    peripheral: { presence: {}, rssiDbm: -60 },
  })),
});
const manifestBytes = Math.round(plans.reduce((s, p) => s + p.manifest.byteLength, 0) / plans.length);
process.stdout.write(`${JSON.stringify({ port: train.radio.port, manifestBytes })}\n`);
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
await train.close();
process.exit(0);
