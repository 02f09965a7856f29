import fc from 'fast-check';
import t from 'tap';
import { head, sign1FromParts } from '../../src/cbor/cose-frame.js';
import { decodeToMaps, type Tag } from '../../src/cbor/index.js';

/** The frame as a concatenation of heads and parts: what sign1FromParts must write in one buffer. */
function reference(prot: Buffer, unprot: Buffer, parts: Buffer[], signature: Buffer): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([
    Buffer.of(0xd2, 0x84),
    head(2, prot.byteLength),
    prot,
    unprot,
    head(2, body.byteLength),
    body,
    head(2, signature.byteLength),
    signature,
  ]);
}

t.test(
  'property: a COSE_Sign1 from parts is the concatenation of its heads and parts, any length',
  async (t) => {
    // Lengths across every head size: under 24, one byte, two bytes, four bytes (≥ 64 KiB).
    const length = fc.oneof(
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 24, max: 255 }),
      fc.integer({ min: 256, max: 65_535 }),
      fc.integer({ min: 65_536, max: 70_000 }),
    );
    fc.assert(
      fc.property(
        length,
        fc.array(length, { minLength: 1, maxLength: 3 }),
        length,
        fc.nat(255),
        (p, parts, s, fill) => {
          const prot = Buffer.alloc(p % 300, fill);
          const unprot = Buffer.of(0xa0);
          const body = parts.map((n, i) => Buffer.alloc(Math.floor(n / parts.length), (fill + i) & 0xff));
          const signature = Buffer.alloc(s % 100, fill ^ 0x5a);
          return sign1FromParts(prot, unprot, body, signature).equals(
            reference(prot, unprot, body, signature),
          );
        },
      ),
      { numRuns: 100 },
    );
    // And it is the COSE_Sign1 a general decoder reads.
    const frame = sign1FromParts(
      Buffer.of(0xa0),
      Buffer.of(0xa0),
      [Buffer.from('ab'), Buffer.from('cd')],
      Buffer.alloc(64, 7),
    );
    const decoded = decodeToMaps(frame) as Tag;
    t.equal(decoded.tag, 18);
    t.same((decoded.value as unknown[])[2], Buffer.from('abcd'));
  },
);
