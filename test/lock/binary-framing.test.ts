import fc from 'fast-check';
import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { MessageType } from '../../src/lock/codec/constants.js';
import { Frame } from '../../src/lock/codec/frame.js';
import { decodeMessage, encodeMessage } from '../../src/lock/codec/messages.js';
import { readLock } from '../../src/lock/reader.js';
import { LockSession } from '../../src/lock/session.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine } from '../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { type LockFaults, SimulatedLock } from '../../src/sim/lock/simulated-lock.js';

/**
 * Binary framing on BLE (PROTOCOL.md §13.4): offered in HELLO on a BLE link only, taken by a
 * lock that knows it, declined silently by one that does not; after the switch every frame
 * travels without base64, and a broken binary stream ends the link with a typed error.
 */

const identity = generateLockIdentity();
const manifest = Buffer.alloc(20_000);
for (let i = 0; i < manifest.byteLength; i++) manifest[i] = (i * 131 + 7) & 0xff;
const events = appendEvents('SSL-KZ-BIN', identity.secretKey, [], [{ kind: 1, time: 1_790_000_000 }]);

function newLock(faults: LockFaults = {}): SimulatedLock {
  return new SimulatedLock(new LockEngine({ lockId: 'SSL-KZ-BIN', identity, manifest, events }), faults);
}

interface Wire {
  fromGateway: Buffer[];
  fromLock: Buffer[];
}

/** A link of `kind` to `lock` that records both directions; `tamper` sees the lock's writes. */
function recordedLink(
  lock: SimulatedLock,
  kind: 'serial' | 'ble',
  wire: Wire,
  tamper?: (b: Buffer) => Buffer,
) {
  const link = memoryLinkTo(
    lock,
    (bytes) => {
      wire.fromLock.push(Buffer.from(bytes));
      return tamper ? tamper(bytes) : bytes;
    },
    kind,
  );
  const toLock = link.onWrite;
  link.onWrite = (bytes) => {
    wire.fromGateway.push(Buffer.from(bytes));
    toLock(bytes);
  };
  return link;
}

const helloOf = (wire: Wire) => {
  const frame = Frame.fromLine(wire.fromGateway[0]!.subarray(0, -1))!;
  const message = decodeMessage(frame);
  if (message.type !== MessageType.Hello) throw new Error('the first frame is not HELLO');
  return message.body;
};

async function read(kind: 'serial' | 'ble', faults: LockFaults = {}, binaryFraming?: boolean) {
  const lock = newLock(faults);
  const wire: Wire = { fromGateway: [], fromLock: [] };
  const result = await readLock({
    gatewayId: 'KZ-TEST-GW',
    attempts: 1,
    ...(binaryFraming === undefined ? {} : { binaryFraming }),
    open: async () => recordedLink(lock, kind, wire),
  });
  lock.detach();
  return { result, wire };
}

t.test(
  'on BLE the lock takes the offer: after HELLO_R every frame is binary, and the read is whole',
  async (t) => {
    const { result, wire } = await read('ble');
    t.equal(result.outcome, 'complete');
    t.ok(result.manifest?.equals(manifest), 'the manifest, byte for byte');
    t.equal(helloOf(wire).bin, true, 'HELLO offers binary framing');
    const lockBytes = Buffer.concat(wire.fromLock);
    const helloEnd = lockBytes.indexOf(0x0a) + 1;
    const helloR = decodeMessage(Frame.fromLine(lockBytes.subarray(0, helloEnd - 1))!);
    t.equal(helloR.type, MessageType.HelloResponse);
    t.equal((helloR.body as { bin?: boolean }).bin, true, 'HELLO_R accepts, as a line');
    // The rest parses as frames back to back, each its header's length, and nothing else.
    let pos = helloEnd;
    let frames = 0;
    while (pos < lockBytes.byteLength) {
      const len = lockBytes.readUInt16BE(pos + 4);
      Frame.fromBuffer(lockBytes.subarray(pos, pos + 10 + len));
      pos += 10 + len;
      frames++;
    }
    t.equal(pos, lockBytes.byteLength, `${frames} binary frames fill the rest of the stream exactly`);
    t.ok(frames >= Math.ceil(manifest.byteLength / 1024), 'the manifest came in them');
    t.equal(
      wire.fromGateway.slice(1).filter((w) => w[0] === 0x7e).length,
      0,
      'the gateway sent no line after HELLO',
    );
    // Base64 costs 4/3: the manifest crossed in little more than its own size.
    t.ok(lockBytes.byteLength < manifest.byteLength * 1.1, `${lockBytes.byteLength} bytes from the lock`);
  },
);

t.test('a lock of revision 1.1 ignores the offer: lines throughout, and the read is whole', async (t) => {
  const { result, wire } = await read('ble', { lineOnly: true });
  t.equal(result.outcome, 'complete');
  t.ok(result.manifest?.equals(manifest));
  t.equal(helloOf(wire).bin, true, 'offered');
  const lines = Buffer.concat(wire.fromLock).toString('latin1').split('\n').filter(Boolean);
  t.ok(lines.length > 20 && lines.every((l) => l.startsWith('~')), 'every answer a line');
  t.ok(
    wire.fromGateway.every((w) => w[0] === 0x7e),
    'every request a line',
  );
});

t.test('on a serial link binary framing is never offered', async (t) => {
  const { result, wire } = await read('serial');
  t.equal(result.outcome, 'complete');
  t.equal(helloOf(wire).bin, undefined, 'no `bin` in HELLO');
  t.ok(
    wire.fromGateway.every((w) => w[0] === 0x7e || w[0] === 0x0a),
    'lines only',
  );
});

t.test('a gateway configured without it does not offer it on BLE either', async (t) => {
  const { result, wire } = await read('ble', {}, false);
  t.equal(result.outcome, 'complete');
  t.equal(helloOf(wire).bin, undefined);
});

t.test('a lock that switches without the offer is refused', async (t) => {
  // The lock is told its link carries binary frames, the gateway is on serial and did not offer.
  const lock = newLock();
  const wire: Wire = { fromGateway: [], fromLock: [] };
  const link = recordedLink(lock, 'serial', wire);
  const session = new LockSession(link, { gatewayId: 'KZ-TEST-GW' });
  // Answer a HELLO that offers, as a lock on BLE would, though this gateway did not offer.
  const engine = lock.engine;
  const hello = engine.handle(
    Frame.fromLine(
      Buffer.from(
        encodeMessage(MessageType.Hello, 1, { v: [1], gw: 'X', bin: true })
          .toLine()
          .subarray(0, -1),
      ),
    )!,
    { binaryFraming: true },
  )!;
  lock.detach();
  const pending = session.hello();
  const seq = Frame.fromLine(wire.fromGateway[0]!.subarray(0, -1))!.seq;
  link.deliver(new Frame(hello.version, hello.type, seq, hello.body).toLine());
  const err = await pending.catch((e: unknown) => e);
  t.ok(isCtopError(err, 'E_LOCK_PROTOCOL'), String(err));
  await session.close();
});

t.test(
  'any damage to the binary stream ends the link with a typed error, or the read is whole',
  async (t) => {
    let broken = 0;
    let whole = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (writeIndex, offset, xor) => {
          const lock = newLock();
          let writes = 0;
          const result = await readLock({
            gatewayId: 'KZ-TEST-GW',
            attempts: 1,
            retries: 1,
            initialTimeoutMs: 200,
            open: async () =>
              memoryLinkTo(
                lock,
                (bytes) => {
                  // The first write is HELLO_R, a line; the damage lands in the binary stream.
                  if (++writes !== writeIndex + 1) return bytes;
                  const copy = Buffer.from(bytes);
                  copy[offset % copy.byteLength]! ^= xor;
                  return copy;
                },
                'ble',
              ),
          });
          lock.detach();
          if (result.outcome === 'complete') {
            whole++;
            return result.manifest!.equals(manifest);
          }
          broken++;
          return isCtopError(result.error) && /^E_(FRAME|LOCK)_/.test(result.error.code);
        },
      ),
      { numRuns: 60 },
    );
    t.ok(broken > 0, `${broken} reads ended by the damage, ${whole} whole (damage past the last answer)`);
  },
);
