import fc from 'fast-check';
import t from 'tap';
import { Pb } from '../../../src/sim/ble/hci-constants.js';
import { L2capReassembler, l2capPdu, segment } from '../../../src/sim/ble/l2cap.js';

t.test('reassembles PDUs from fragments of any size', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.uint8Array({ maxLength: 600 })), {
        maxLength: 10,
      }),
      fc.integer({ min: 1, max: 300 }),
      (pdus, size) => {
        const r = new L2capReassembler();
        const out: Array<[number, Buffer]> = [];
        for (const [cid, payload] of pdus) {
          segment(l2capPdu(cid, payload), size).forEach((frag, i) => {
            const frame = r.push(i === 0 ? Pb.FirstNonFlushable : Pb.Continuing, frag);
            if (frame) out.push([frame.cid, Buffer.from(frame.payload)]);
          });
        }
        t.same(
          out,
          pdus.map(([cid, p]) => [cid, Buffer.from(p)]),
        );
        t.equal(r.discarded, 0);
      },
    ),
    { numRuns: 200 },
  );
});

t.test('a new first fragment abandons an incomplete PDU; orphans and excess are dropped', async (t) => {
  const r = new L2capReassembler();
  t.equal(r.push(Pb.Continuing, Buffer.from('orphan')), undefined);
  t.equal(r.discarded, 6);
  const pdu = l2capPdu(4, Buffer.from('0123456789'));
  t.equal(r.push(Pb.FirstFlushable, pdu.subarray(0, 8)), undefined);
  const frame = r.push(Pb.FirstFlushable, pdu);
  t.same(frame?.payload, Buffer.from('0123456789'));
  t.equal(r.discarded, 6 + 8);
  const long = Buffer.concat([l2capPdu(4, Buffer.from('ab')), Buffer.from('xyz')]);
  t.same(r.push(Pb.FirstFlushable, long)?.payload, Buffer.from('ab'));
  t.equal(r.discarded, 6 + 8 + 3);
});
