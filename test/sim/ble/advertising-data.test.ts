import t from 'tap';
import { BLE_SERVICE_UUID } from '../../../src/lock/transport/ble-gatt.js';
import { encodeAdStructures, lockAdvertising, uuid128ToLe } from '../../../src/sim/ble/advertising-data.js';

t.test('the lock advertising layout, byte for byte', async (t) => {
  const hash = Buffer.from('0123456789abcdef'.repeat(4), 'hex');
  const { advertisingData, scanResponseData } = lockAdvertising({
    lockId: 'KZ-0001',
    protocolVersion: 1,
    sealState: 2,
    eventCount: 0x1_0203,
    manifestSha256: hash,
  });
  t.equal(advertisingData.toString('hex'), `020106` + `1107${uuid128ToLe(BLE_SERVICE_UUID).toString('hex')}`);
  t.equal(
    scanResponseData.toString('hex'),
    `0809${Buffer.from('KZ-0001').toString('hex')}` + '0bff' + 'ffff' + '01' + '02' + '0302' + '01234567',
    'event count modulo 65536, little-endian',
  );
  t.equal(uuid128ToLe(BLE_SERVICE_UUID)[15], 0xf3, 'UUIDs travel least significant octet first');
  const longest = lockAdvertising({
    lockId: 'X'.repeat(16),
    protocolVersion: 1,
    sealState: 0,
    eventCount: 0,
    manifestSha256: hash,
  });
  t.equal(longest.scanResponseData.length, 30, 'a 16-character id still fits');
});

t.test('payloads over 31 bytes and malformed fields are refused with a TypeError', async (t) => {
  t.throws(() => encodeAdStructures([{ type: 0xff, data: new Uint8Array(30) }]), TypeError);
  const ok = {
    lockId: 'A',
    protocolVersion: 1,
    sealState: 0,
    eventCount: 0,
    manifestSha256: new Uint8Array(32),
  };
  t.throws(() => lockAdvertising({ ...ok, lockId: 'X'.repeat(17) }), TypeError);
  t.throws(() => lockAdvertising({ ...ok, lockId: '' }), TypeError);
  t.throws(() => lockAdvertising({ ...ok, manifestSha256: new Uint8Array(3) }), TypeError);
  t.throws(() => uuid128ToLe('1234'), TypeError);
});
