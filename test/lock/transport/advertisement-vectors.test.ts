import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import type { AdvertisementVector } from '../../../scripts/lib/protocol-vectors.js';
import { parseLockAdvertisement } from '../../../src/lock/transport/ble-advertising.js';
import { BLE_COMPANY_ID, BLE_RX_UUID, BLE_TX_UUID } from '../../../src/lock/transport/ble-gatt.js';
import { announcedLayout } from '../../../src/lock/transport/ble-link.js';

/**
 * The advertisement vectors (PROTOCOL.md §13.2, §13.5) read as a vendor reads them: the AD
 * structures taken apart by hand, the fields at the offsets of the table, the layout's
 * declarations decoded byte by byte — and the gateway's parser agreeing with all of it.
 */

const dir = new URL('../../../firmware-protocol/vectors/', import.meta.url);
const vectors = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')))
  .filter((v): v is AdvertisementVector => v.kind === 'advertisement');

/** AD structures (Core Vol 3 Part C §11): length, type, data. */
function adStructures(bytes: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let i = 0; i < bytes.length; ) {
    const len = bytes[i]!;
    out.set(bytes[i + 1]!, bytes.subarray(i + 2, i + 1 + len));
    i += 1 + len;
  }
  return out;
}

const uuidLe = (uuid: string) => Buffer.from(uuid.replace(/-/g, ''), 'hex').reverse().toString('hex');

t.ok(vectors.length >= 2, `${vectors.length} advertisement vectors`);

for (const v of vectors) {
  t.test(`advertisement vector ${v.name}`, async (t) => {
    const bytes = Buffer.from(v.scanResponse, 'hex');
    t.ok(bytes.length <= 31, `${bytes.length} octets: legacy advertising carries 31`);
    const ad = adStructures(bytes);
    const name = ad.get(0x09)?.toString('utf8');
    const mfr = ad.get(0xff);
    t.equal(name, v.fields.lockId, 'Complete Local Name is the lock id');
    t.ok(mfr, 'Manufacturer Specific Data');
    t.equal(mfr!.readUInt16LE(0), BLE_COMPANY_ID);
    t.equal(mfr![2], v.fields.protocolVersion);
    t.equal(mfr![3], v.fields.sealState);
    t.equal(mfr!.readUInt16LE(4), v.fields.eventCount);
    t.equal(mfr!.subarray(6, 10).toString('hex'), v.fields.manifestHashPrefix);
    t.equal(mfr!.length, v.fields.rxHandle === undefined ? 10 : 11);
    if (v.fields.rxHandle !== undefined) t.equal(mfr![10], v.fields.rxHandle);

    const parsed = parseLockAdvertisement(name, mfr);
    t.same(
      parsed && { ...parsed, manifestHashPrefix: parsed.manifestHashPrefix.toString('hex') },
      v.fields,
      "the gateway's parser reads the same fields",
    );
  });
}

t.test('the layout an announced handle promises, decoded as a GATT client decodes it', async (t) => {
  const v = vectors.find((x) => x.layout);
  t.ok(v, 'a vector with a layout');
  const h = v!.fields.rxHandle!;
  const at = (handle: number) => v!.layout!.find((a) => a.handle === handle)!;
  t.same(
    v!.layout!.map((a) => a.handle),
    [h - 1, h, h + 1, h + 2, h + 3],
  );
  const rxDecl = Buffer.from(at(h - 1).value!, 'hex');
  t.equal(at(h - 1).type, '2803', 'a characteristic declaration');
  t.ok(rxDecl[0]! & 0x04, 'RX: Write Without Response');
  t.equal(rxDecl.readUInt16LE(1), h, "RX's value handle is the announced one");
  t.equal(rxDecl.subarray(3).toString('hex'), uuidLe(BLE_RX_UUID), "RX's UUID");
  const txDecl = Buffer.from(at(h + 1).value!, 'hex');
  t.ok(txDecl[0]! & 0x10, 'TX: Notify');
  t.equal(txDecl.readUInt16LE(1), h + 2);
  t.equal(txDecl.subarray(3).toString('hex'), uuidLe(BLE_TX_UUID), "TX's UUID");
  t.equal(at(h + 3).type, '2902', 'a CCCD at h + 3');
  t.same(announcedLayout(h), { rx: h, tx: h + 2, txCccd: h + 3 }, 'where the gateway writes and listens');
});

t.test('announced handles below 3 (no room for the declarations before) are ignored', async (t) => {
  const mfr = Buffer.from('ffff01010300d6c0d954', 'hex');
  for (const rx of [0, 1, 2]) {
    t.equal(
      parseLockAdvertisement('SSL-KZ-000123', Buffer.concat([mfr, Buffer.of(rx)]))?.rxHandle,
      undefined,
    );
  }
  t.equal(parseLockAdvertisement('SSL-KZ-000123', Buffer.concat([mfr, Buffer.of(3)]))?.rxHandle, 3);
  t.equal(
    parseLockAdvertisement('SSL-KZ-000123', Buffer.concat([mfr, Buffer.of(9, 0xee)]))?.rxHandle,
    9,
    'bytes after the handle (a later revision) are ignored',
  );
});
