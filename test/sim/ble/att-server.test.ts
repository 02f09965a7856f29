import fc from 'fast-check';
import t from 'tap';
import { BLE_RX_UUID, BLE_SERVICE_UUID, BLE_TX_UUID } from '../../../src/lock/transport/ble-gatt.js';
import { AttServer, type AttServerOptions } from '../../../src/sim/ble/att-server.js';
import { GattDatabase, lockGattServices, uuidToAtt } from '../../../src/sim/ble/gatt-db.js';

function server(options: Partial<AttServerOptions> = {}) {
  const sent: Buffer[] = [];
  const events: string[] = [];
  const writes: Buffer[] = [];
  const att = new AttServer(
    new GattDatabase(lockGattServices('KZ-LOCK-1')),
    { maxMtu: 247, ...options },
    {
      send: (pdu) => sent.push(pdu),
      rxWrite: (v) => writes.push(v),
      subscribe: (on) => events.push(`subscribe ${on}`),
      mtu: (mtu) => events.push(`mtu ${mtu}`),
      dropped: (reason) => events.push(`dropped: ${reason}`),
    },
  );
  /** Sends a request and returns what came back (hex), clearing the outbox. */
  const ask = (hex: string): string[] => {
    att.receive(Buffer.from(hex.replace(/ /g, ''), 'hex'));
    return sent.splice(0).map((b) => b.toString('hex'));
  };
  return { att, ask, events, writes };
}

const le16 = (v: number) => Buffer.from([v & 0xff, v >> 8]).toString('hex');
const SERVICE = uuidToAtt(BLE_SERVICE_UUID).toString('hex');
const RX = uuidToAtt(BLE_RX_UUID).toString('hex');
const TX = uuidToAtt(BLE_TX_UUID).toString('hex');

t.test('the lock attribute table, as noble discovers it', async (t) => {
  const { att, ask, events } = server();
  t.same(ask('02 0001'), [`03${le16(247)}`], 'MTU: the server answers its own maximum');
  t.equal(att.mtu, 247, 'in force: min(client 256, server 247)');
  t.same(events, ['mtu 247']);

  t.same(ask('10 0100 ffff 0028'), ['1106' + '0100' + '0500' + '0018'], 'GAP first (16-bit entries only)');
  t.same(ask('10 0600 ffff 0028'), [`1114${'0600'}${'0b00'}${SERVICE}`], 'then the lock service');
  t.same(ask('10 0c00 ffff 0028'), ['01100c000a'], 'then Attribute Not Found');

  const decl = (h: number, props: string, vh: number, uuid: string) => `${le16(h)}${props}${le16(vh)}${uuid}`;
  t.same(
    ask('08 0600 0b00 0328'),
    [`0915${decl(7, '0c', 8, RX)}${decl(9, '10', 10, TX)}`],
    'RX and TX declarations',
  );
  t.same(ask('08 0b00 0b00 0328'), ['01080b000a'], 'no more characteristics');
  t.same(ask('04 0b00 0b00'), ['0501' + '0b00' + '0229'], 'the CCCD after TX');
  t.same(ask('08 0900 0b00 0229'), ['0904' + '0b00' + '0000'], 'CCCD read by type: off');
  t.same(ask('12 0b00 0100'), ['13'], 'subscribe');
  t.same(events.at(-1), 'subscribe true');
  t.equal(att.subscribed, true);
  t.same(ask('0a 0b00'), ['0b0100'], 'CCCD reads back');
  t.same(ask('0a 0300'), [`0b${Buffer.from('KZ-LOCK-1').toString('hex')}`], 'device name');
  t.same(ask('12 0b00 0000'), ['13']);
  t.same(events.at(-1), 'subscribe false');
});

t.test('writes: RX takes commands and requests, everything else refuses', async (t) => {
  const { ask, events, writes } = server();
  t.same(ask('52 0800 68656c6c6f'), [], 'write command: no answer');
  t.same(ask('12 0800 6f6b'), ['13'], 'write request: answered');
  t.same(
    writes.map((w) => w.toString()),
    ['hello', 'ok'],
  );
  t.same(ask('12 0a00 00'), ['01120a0003'], 'TX value: Write Not Permitted');
  t.same(ask('52 0a00 00'), [], 'write command to TX: silently dropped');
  t.match(events.at(-1), /write command refused/);
  t.same(ask('12 0b00 01'), ['01120b000d'], 'CCCD needs 2 bytes');
  t.same(ask('12 9900 01'), ['0112990001'], 'invalid handle');
  t.equal(writes.length, 2);
});

t.test('reads and requests the server does not support get the spec error', async (t) => {
  const { ask } = server();
  t.same(ask('0a 0800'), ['010a080002'], 'RX is not readable');
  t.same(ask('0a 0000'), ['010a000001'], 'handle 0 is invalid');
  t.same(ask('0c 0300 6400'), ['010c030007'], 'read blob past the end: Invalid Offset');
  t.same(ask('0c 0300 0300'), [`0d${Buffer.from('LOCK-1').toString('hex')}`], 'read blob from an offset');
  t.same(ask('10 0100 ffff 0128'), ['0110010010'], 'secondary services are not a group type here');
  t.same(ask('04 0500 0100'), ['0104050001'], 'start > end: Invalid Handle');
  t.same(ask('16 0800 0000 41'), ['0116000006'], 'prepare write: Request Not Supported');
  t.same(ask('20 0100'), ['0120000006'], 'unknown request: Request Not Supported');
  t.same(ask('d2 0800 00'), [], 'unknown command: ignored');
  t.same(ask('1e'), [], 'a confirmation nobody asked for: ignored');
  t.same(ask('0a 08'), ['010a000004'], 'truncated request: Invalid PDU');
  t.same(
    ask('06 0100 ffff 0028' + SERVICE),
    ['07' + '0600' + '0b00'],
    'find by type value: the lock service',
  );
});

t.test('a PDU over the MTU is dropped; a silent server answers nothing', async (t) => {
  const { ask, events } = server();
  t.same(ask(`52 0800 ${'00'.repeat(21)}`), [], 'MTU is 23 before the exchange');
  t.match(events.at(-1), /exceeds ATT MTU 23/);
  const silent = server({ silent: true });
  t.same(silent.ask('02 0001'), []);
  t.same(silent.ask('10 0100 ffff 0028'), []);
  t.throws(() => server({ maxMtu: 22 }), TypeError);
});

t.test('fuzz: any PDU yields at most one answer, never above the MTU, and only to requests', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 23, max: 517 }),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 80 }), { maxLength: 30 }),
      (mtu, pdus) => {
        const { att, ask } = server({ maxMtu: mtu });
        ask(`02${le16(517)}`);
        for (const pdu of pdus) {
          const out = ask(Buffer.from(pdu).toString('hex'));
          t.ok(out.length <= 1);
          for (const rsp of out) t.ok(rsp.length / 2 <= att.mtu);
          const op = pdu[0]!;
          if (out.length === 1) t.ok((op & 0x40) === 0 && op % 2 === 0, `answered op 0x${op.toString(16)}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
