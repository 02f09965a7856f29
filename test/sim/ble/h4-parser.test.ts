import fc from 'fast-check';
import t from 'tap';
import { H4Parser } from '../../../src/sim/ble/h4-parser.js';
import { hciCommand } from './fixtures.js';

function acl(handle: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + data.length);
  b[0] = 0x02;
  b.writeUInt16LE(handle, 1);
  b.writeUInt16LE(data.length, 3);
  b.set(data, 5);
  return b;
}

async function parse(chunks: Buffer[]): Promise<{ packets: Buffer[]; discarded: number }> {
  let discarded = 0;
  const parser = new H4Parser({ onDiscard: (n) => (discarded += n) });
  const packets: Buffer[] = [];
  parser.on('data', (p: Buffer) => packets.push(Buffer.from(p)));
  for (const c of chunks) parser.write(c);
  await new Promise<void>((resolve) => parser.end(resolve));
  return { packets, discarded };
}

t.test('splits commands and ACL packets, whatever the chunking', async (t) => {
  const packet = fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 255 }))
      .map(([o, p]) => hciCommand(o, p)),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 600 }))
      .map(([h, d]) => acl(h, d)),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(packet, { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 700 })),
      async (packets, cuts) => {
        const stream = Buffer.concat(packets);
        const chunks: Buffer[] = [];
        let pos = 0;
        for (const cut of cuts) {
          if (pos >= stream.length) break;
          chunks.push(stream.subarray(pos, pos + cut));
          pos += cut;
        }
        if (pos < stream.length) chunks.push(stream.subarray(pos));
        const out = await parse(chunks);
        t.same(out.packets, packets);
        t.equal(out.discarded, 0);
      },
    ),
    { numRuns: 200 },
  );
});

t.test('skips bytes that start no command or ACL packet, and resynchronises', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a.filter((b) => b !== 0x01 && b !== 0x02))),
      fc.uint8Array({ maxLength: 40 }),
      async (junk, params) => {
        const good = hciCommand(0x0c03, params);
        const out = await parse([Buffer.concat([junk, good, junk])]);
        t.same(out.packets, [good]);
        t.equal(out.discarded, 2 * junk.length);
      },
    ),
    { numRuns: 100 },
  );
});

t.test('a partial packet at end of stream is counted as discarded', async (t) => {
  const out = await parse([hciCommand(0x1009, Buffer.alloc(4)).subarray(0, 5)]);
  t.same(out.packets, []);
  t.equal(out.discarded, 5);
});

t.test('rejects invalid options with a TypeError', async (t) => {
  t.throws(() => new H4Parser({ maxAclLength: 70000 }), TypeError);
});
