import { BleRadio } from '../../src/lock/transport/ble-radio.js';
import type { LinkParams } from '../../src/sim/ble/link-params.js';
import { type SimulatedTrain, startSimulatedTrain } from '../../src/sim/ble-train.js';

/**
 * One lock standing in range of a simulated radio (−60 dBm), heard by a gateway radio: what
 * a one-lock BLE benchmark reads. `close` stops both.
 */
export async function standingLock(o: {
  lockId: string;
  manifest: Uint8Array;
  link: Partial<LinkParams>;
  timeScale: number;
}): Promise<{ train: SimulatedTrain; radio: BleRadio; address: string; close(): Promise<void> }> {
  const train = await startSimulatedTrain({
    locks: [{ lockId: o.lockId, manifest: o.manifest, peripheral: { presence: {}, rssiDbm: -60 } }],
    link: o.link,
    timeScale: o.timeScale,
  });
  const radio = await BleRadio.open({ bindings: train.bindings, clock: train.world.clock });
  const close = async () => {
    await radio.close();
    await train.close();
  };
  try {
    await radio.startScanning();
    while (radio.sightings.size === 0) await new Promise((r) => setTimeout(r, 20));
    await radio.stopScanning();
    return { train, radio, address: [...radio.sightings.keys()][0]!, close };
  } catch (err) {
    await close();
    throw err;
  }
}
