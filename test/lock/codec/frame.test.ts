import fc from 'fast-check';
import t from 'tap';
import { isCtopError } from '../../../src/errors.js';
import { MAX_BODY, MAX_CHUNK, MAX_LINE, MessageType } from '../../../src/lock/codec/constants.js';
import { Frame } from '../../../src/lock/codec/frame.js';
import { decodeMessage, encodeMessage } from '../../../src/lock/codec/messages.js';

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const seq = fc.integer({ min: 0, max: 0xffff });

/** Arbitrary valid messages of several types, the body as the encoder takes it. */
const message = fc.oneof(
  fc.record({
    type: fc.constant(MessageType.Read),
    body: fc.record({ off: u32, len: fc.integer({ min: 1, max: MAX_CHUNK }) }),
  }),
  fc.record({
    type: fc.constant(MessageType.ReadResponse),
    body: fc.record({ off: u32, data: bytes(0, MAX_CHUNK) }),
  }),
  fc.record({ type: fc.constant(MessageType.Auth), body: fc.record({ nonce: bytes(32, 32) }) }),
  fc.record({ type: fc.constant(MessageType.AuthResponse), body: fc.record({ sig: bytes(64, 64) }) }),
  fc.record({
    type: fc.constant(MessageType.Hello),
    body: fc.record({
      v: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 8 }),
      gw: fc.string({ minLength: 1, maxLength: 64 }),
    }),
  }),
  fc.record({
    type: fc.constant(MessageType.Error),
    body: fc.record({ code: fc.integer({ min: 1, max: 0xffff }), msg: fc.string({ maxLength: 128 }) }),
  }),
  fc.record({
    type: fc.constant(MessageType.EventsResponse),
    body: fc.record({
      ev: fc.array(
        fc.tuple(u32, u32, fc.integer({ min: 0, max: 255 }), bytes(0, 64), bytes(32, 32), bytes(64, 64)),
        { maxLength: 8 },
      ),
      count: u32,
    }),
  }),
);

/** Decoded byte strings are Buffers; the generated ones plain Uint8Arrays. */
function asBuffers(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(asBuffers);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asBuffers(x)]));
  return v;
}

t.test('encode → line → decode round-trips every message', async (t) => {
  fc.assert(
    fc.property(message, seq, ({ type, body }, s) => {
      const line = encodeMessage(type, s, body as never).toLine();
      if (line.byteLength > MAX_LINE) return false;
      const frame = Frame.fromLine(line.subarray(0, -1));
      if (!frame) return false;
      const decoded = decodeMessage(frame);
      t.same(decoded.body, asBuffers(body));
      return decoded.type === type && decoded.seq === s;
    }),
    { numRuns: 500 },
  );
});

t.test('random bytes as a line only ever produce typed errors', async (t) => {
  let typed = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: MAX_LINE }), fc.boolean(), (raw, marker) => {
      const line = marker ? Buffer.concat([Buffer.from('~'), raw]) : Buffer.from(raw);
      try {
        const frame = Frame.fromLine(line);
        if (frame) decodeMessage(frame);
      } catch (err) {
        if (!isCtopError(err)) throw err;
        typed++;
      }
    }),
    { numRuns: 3000 },
  );
  t.ok(typed > 0, `${typed} typed errors seen`);
});

t.test('random base64 payloads with a valid marker only ever produce typed errors', async (t) => {
  fc.assert(
    fc.property(bytes(0, 1400), (bin) => {
      try {
        const frame = Frame.fromLine(Buffer.from(`~${Buffer.from(bin).toString('base64')}`));
        if (frame) decodeMessage(frame);
      } catch (err) {
        if (!isCtopError(err)) throw err;
      }
    }),
    { numRuns: 3000 },
  );
  t.pass('no untyped error');
});

t.test('any single-bit flip of a valid frame is caught', async (t) => {
  const bin = encodeMessage(MessageType.ReadResponse, 7, {
    off: 4096,
    data: Buffer.alloc(200, 0x42),
  }).toBuffer();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bin.byteLength * 8 - 1 }), (bit) => {
      const copy = Buffer.from(bin);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      try {
        Frame.fromLine(Buffer.from(`~${copy.toString('base64')}`));
        return false;
      } catch (err) {
        return isCtopError(err, 'E_FRAME_CRC');
      }
    }),
    { numRuns: 500 },
  );
  t.pass();
});

t.test('the encoder refuses what it must not send', async (t) => {
  t.throws(() => encodeMessage(MessageType.Read, 1, { off: 0, len: MAX_CHUNK + 1 }), TypeError);
  t.throws(() => encodeMessage(MessageType.Auth, 1, { nonce: Buffer.alloc(31) }), TypeError);
  t.throws(() => new Frame(1, MessageType.Read, 1, Buffer.alloc(MAX_BODY + 1)), RangeError);
  const big = Array.from({ length: 60 }, () => 'x'.repeat(30));
  t.throws(() => encodeMessage(MessageType.Error, 1, { code: 1, msg: big.join('') }), TypeError);
});

t.test('a frame describes itself for logs', async (t) => {
  const frame = encodeMessage(MessageType.Read, 0x42, { off: 0, len: 16 });
  t.match(frame.toString(), /^READ v1 seq=66 body=\d+B$/);
  t.equal(new Frame(1, 0x33, 1, Buffer.alloc(0)).typeName, '0x33');
});
