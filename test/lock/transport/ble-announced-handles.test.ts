import t, { type Test } from 'tap';
import { readLock } from '../../../src/lock/reader.js';
import type { BleLink } from '../../../src/lock/transport/ble-link.js';
import type { BleRadio } from '../../../src/lock/transport/ble-radio.js';
import { AttOp } from '../../../src/sim/ble/att-server.js';
import {
  CharProp,
  GattDatabase,
  type GattServiceSpec,
  lockGattServices,
} from '../../../src/sim/ble/gatt-db.js';
import type { SimulatedTrain, TrainLockSpec } from '../../../src/sim/ble-train.js';
import { startTrainAndRadio } from '../../helpers/ble-train.js';

/**
 * Announced GATT handles (PROTOCOL.md §13.5): a lock that names its RX value handle in its
 * scan response is reached there without service discovery; a lock whose announcement is
 * wrong is still read, by discovery, and never reached at its announced handles again.
 */

const LOCK_ID = 'SSL-KZ-000777';
const MANIFEST = Buffer.from('A manifest stands here: COSE_Sign1 bytes in real life.');
/** The requests of GATT discovery (Core Vol 3 Part G §4.4-4.7). */
const DISCOVERY = [
  AttOp.ReadByGroupTypeReq,
  AttOp.FindByTypeValueReq,
  AttOp.ReadByTypeReq,
  AttOp.FindInfoReq,
];
const REAL_RX = new GattDatabase(lockGattServices(LOCK_ID)).rxHandle!;

async function standingLock(
  t: Test,
  spec: Partial<TrainLockSpec> = {},
): Promise<{ train: SimulatedTrain; radio: BleRadio; address: string }> {
  const { train, radio } = await startTrainAndRadio(t, {
    locks: [{ lockId: LOCK_ID, manifest: MANIFEST, peripheral: { presence: {}, rssiDbm: -55 }, ...spec }],
  });
  await radio.startScanning();
  while (radio.sightings.size === 0) await new Promise((r) => setTimeout(r, 20));
  await radio.stopScanning();
  return { train, radio, address: [...radio.sightings.keys()][0]! };
}

/** An opener of links to `address` that notes how each found the lock's pipe. */
function recordingOpener(radio: BleRadio, address: string, links: string[]): () => Promise<BleLink> {
  return async () => {
    const link = await radio.open(address);
    links.push(link.gatt);
    return link;
  };
}

/** Reads the lock whole (asserted) and returns how each link found its pipe. */
async function readRecording(t: Test, radio: BleRadio, address: string): Promise<string[]> {
  const links: string[] = [];
  const read = await readLock({
    gatewayId: 'KZ-ALTYNKOL-GW01',
    open: recordingOpener(radio, address, links),
  });
  t.equal(read.outcome, 'complete', read.error?.message ?? 'read');
  t.same(read.manifest, MANIFEST);
  return links;
}

function discoveryRequests(train: SimulatedTrain): number {
  const seen = train.locks[0]!.peripheral.attReceived;
  return DISCOVERY.reduce((n, op) => n + (seen.get(op) ?? 0), 0);
}

t.test('a lock announcing its handles is read at them: no discovery request on air', async (t) => {
  const { train, radio, address } = await standingLock(t);
  t.equal(radio.sightings.get(address)?.advertisement.rxHandle, REAL_RX, 'the scan response names RX');
  t.same(await readRecording(t, radio, address), ['announced'], 'one link, at the announced handles');
  t.equal(discoveryRequests(train), 0, 'the lock was asked for no discovery');
  const seen = train.locks[0]!.peripheral.attReceived;
  t.equal(seen.get(AttOp.ReadReq), 1, "one read: RX's declaration");
  t.equal(seen.get(AttOp.WriteReq), 1, 'one Write Request: the CCCD');
});

t.test('a lock of revision 1.2 (no handle announced) is discovered as before', async (t) => {
  const { train, radio, address } = await standingLock(t, { announcedRxHandle: false });
  t.equal(radio.sightings.get(address)?.advertisement.rxHandle, undefined);
  const link = await radio.open(address);
  t.equal(link.gatt, 'discovered');
  await link.close();
  t.ok(discoveryRequests(train) > 0, `${discoveryRequests(train)} discovery requests`);
});

t.test(
  'announced handles that answer nothing (no such attribute): the same link discovers, and so does every later one',
  async (t) => {
    const { train, radio, address } = await standingLock(t, { announcedRxHandle: 40 });
    t.same(
      await readRecording(t, radio, address),
      ['discovered'],
      'no declaration at 39 (an ATT error): discovered on that link',
    );
    const writesBefore = train.locks[0]!.peripheral.attReceived.get(AttOp.WriteReq) ?? 0;
    const again = await radio.open(address);
    t.equal(again.gatt, 'discovered', 'the next link discovers at once');
    await again.close();
    t.equal(
      train.locks[0]!.peripheral.attReceived.get(AttOp.WriteReq),
      writesBefore + 1,
      'one Write Request on the new link (the discovered CCCD), none at the announced one',
    );
  },
);

t.test('an announced handle that is not RX: one read shows it, and the same link discovers', async (t) => {
  // Handle 4 is the declaration of the Appearance value (5), not of RX.
  const { train, radio, address } = await standingLock(t, { announcedRxHandle: REAL_RX - 3 });
  const link = await radio.open(address);
  t.equal(link.gatt, 'discovered');
  await link.close();
  const seen = train.locks[0]!.peripheral.attReceived;
  t.equal(seen.get(AttOp.ReadReq), 1, 'one read: the declaration before the announced handle');
  t.equal(seen.get(AttOp.WriteReq), 1, 'no write at the announced layout, one to the discovered CCCD');
});

/** The lock service with one more characteristic between RX and TX: not the layout of §13.5. */
function serviceWithExtra(extraProperties: number): GattServiceSpec[] {
  const [gap, lock] = lockGattServices(LOCK_ID);
  const [rx, tx] = lock!.characteristics;
  const extra = { uuid: 'f3c700ff-2d5b-4e8a-9c41-7c7a0e3b5a10', properties: extraProperties };
  return [gap!, { uuid: lock!.uuid, characteristics: [rx!, extra, tx!] }];
}

t.test(
  'RX where announced but no CCCD at RX + 3: the Write Request goes unanswered and the same link discovers',
  async (t) => {
    const gatt = serviceWithExtra(CharProp.Read); // RX + 3 is the extra value: not writable
    const { radio, address } = await standingLock(t, { peripheral: { presence: {}, rssiDbm: -55, gatt } });
    t.equal(radio.sightings.get(address)?.advertisement.rxHandle, REAL_RX, 'the lock announces its real RX');
    const read = await readLock({ gatewayId: 'KZ-ALTYNKOL-GW01', open: () => radio.open(address) });
    t.equal(read.outcome, 'complete', read.error?.message ?? 'read');
    t.same(read.manifest, MANIFEST);
    t.equal(read.stats.links, 1, 'on the first link');
  },
);

t.test(
  "a CCCD at RX + 3 that is not TX's (a HELLO unanswered): that read fails, the next discovers and reads",
  async (t) => {
    // RX + 2 is the extra characteristic's value and RX + 3 its CCCD: the write is answered,
    // the lock's answers go out on TX at RX + 5, where the gateway does not listen.
    const gatt = serviceWithExtra(CharProp.WriteWithoutResponse | CharProp.Notify);
    const { radio, address } = await standingLock(t, { peripheral: { presence: {}, rssiDbm: -55, gatt } });
    const links: string[] = [];
    const open = recordingOpener(radio, address, links);
    const first = await readLock({ gatewayId: 'KZ-ALTYNKOL-GW01', open, readDeadlineMs: 3000 });
    t.equal(first.outcome, 'failed');
    t.equal(first.error?.code, 'E_LOCK_TIMEOUT', first.error?.message ?? 'timed out');
    const second = await readLock({ gatewayId: 'KZ-ALTYNKOL-GW01', open });
    t.equal(second.outcome, 'complete', second.error?.message ?? 'read');
    t.same(second.manifest, MANIFEST);
    t.same(links, ['announced', 'discovered'], 'the silent link at the announced handles, then discovery');
  },
);

t.test('the kit asks for the announced handles alone: a lock announcing none is refused', async (t) => {
  const { radio, address } = await standingLock(t, { announcedRxHandle: false });
  await t.rejects(radio.open(address, { gatt: 'announced' }), { code: 'E_BLE_GATT' });
});
