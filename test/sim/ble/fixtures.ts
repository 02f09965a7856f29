import type { Characteristic, Noble, Peripheral } from '@stoprocent/noble';
import { BLE_RX_UUID, BLE_SERVICE_UUID, BLE_TX_UUID } from '../../../src/lock/transport/ble-gatt.js';
import { lockAdvertising } from '../../../src/sim/ble/advertising-data.js';
import { SimPeripheral, type SimPeripheralOptions } from '../../../src/sim/ble/peripheral.js';
import { SimRadio, type SimRadioOptions } from '../../../src/sim/ble/sim-radio.js';
import { SimWorld, type SimWorldOptions } from '../../../src/sim/ble/world.js';
import { net } from '../../helpers/patience.js';

/** noble spells UUIDs as lowercase hex without dashes. */
export const SERVICE = BLE_SERVICE_UUID.replace(/-/g, '');
export const RX = BLE_RX_UUID.replace(/-/g, '');
export const TX = BLE_TX_UUID.replace(/-/g, '');

export function lockAddress(i: number): string {
  return `c0:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
}

export function lockId(i: number): string {
  return `KZ-LOCK-${String(i).padStart(4, '0')}`;
}

/** A peripheral advertising like lock `i` (fields derived from i, so each lock differs). */
export function lockPeripheral(
  i: number,
  o: Partial<SimPeripheralOptions> & Pick<SimPeripheralOptions, 'app'>,
): SimPeripheral {
  const adv = lockAdvertising({
    lockId: lockId(i),
    protocolVersion: 1,
    sealState: 1,
    eventCount: 3 + i,
    manifestSha256: Buffer.alloc(32, i & 0xff),
  });
  return new SimPeripheral({
    address: lockAddress(i),
    advertisingData: adv.advertisingData,
    scanResponseData: adv.scanResponseData,
    name: lockId(i),
    advertisingIntervalMs: 50,
    ...o,
  });
}

export interface RadioSetup {
  world: SimWorld;
  radio: SimRadio;
  noble: Noble;
}

/** A world, the radio on a pty pair, and one powered-on noble; torn down with the test. */
export async function startRadio(
  t: { teardown(fn: () => Promise<void> | void): void },
  world: SimWorldOptions = {},
  controller: Omit<SimRadioOptions, 'world'> = {},
): Promise<RadioSetup> {
  const w = new SimWorld(world);
  const radio = await SimRadio.start({ world: w, ...controller });
  t.teardown(() => radio.close());
  const noble = await radio.noble(net(10_000));
  return { world: w, radio, noble };
}

/** Scans until `count` distinct peripherals advertising the lock service were discovered. */
export async function discover(noble: Noble, count: number, timeoutMs = 5_000): Promise<Peripheral[]> {
  const found = new Map<string, Peripheral>();
  return new Promise<Peripheral[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      noble.off('discover', onDiscover);
      reject(new Error(`discovered ${found.size} of ${count} peripherals`));
    }, net(timeoutMs));
    const onDiscover = (p: Peripheral) => {
      found.set(p.id, p);
      if (found.size < count) return;
      clearTimeout(timer);
      noble.off('discover', onDiscover);
      noble.stopScanningAsync().then(() => resolve([...found.values()]), reject);
    };
    noble.on('discover', onDiscover);
    noble.startScanningAsync([SERVICE], false).catch(reject);
  });
}

export interface LockLinkChars {
  rx: Characteristic;
  tx: Characteristic;
}

/** Connects, discovers the lock service and subscribes to TX, as the BLE transport will. */
export async function openLockLink(p: Peripheral): Promise<LockLinkChars> {
  await p.connectAsync();
  const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync([SERVICE], [RX, TX]);
  const rx = characteristics.find((c) => c.uuid === RX);
  const tx = characteristics.find((c) => c.uuid === TX);
  if (!rx || !tx) throw new Error('lock service incomplete');
  await tx.subscribeAsync();
  return { rx, tx };
}

/** Writes `bytes` to RX in MTU-sized write commands and collects TX notifications until `expect` bytes came back. */
export async function echoThrough(
  p: Peripheral,
  link: LockLinkChars,
  bytes: Buffer,
  timeoutMs = 10_000,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`echo timed out with ${have} of ${bytes.length} bytes`)),
      net(timeoutMs),
    );
    const onData = (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have >= bytes.length) {
        clearTimeout(timer);
        link.tx.off('data', onData);
        resolve();
      }
    };
    link.tx.on('data', onData);
  });
  const size = (p.mtu ?? 23) - 3;
  for (let i = 0; i < bytes.length; i += size) await link.rx.writeAsync(bytes.subarray(i, i + size), true);
  await done;
  return Buffer.concat(chunks);
}

/** An HCI command as the host sends it over H4: indicator, opcode, parameter length, parameters. */
export function hciCommand(opcode: number, params: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + params.length);
  b[0] = 0x01;
  b.writeUInt16LE(opcode, 1);
  b[3] = params.length;
  b.set(params, 4);
  return b;
}
