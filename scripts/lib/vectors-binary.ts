import { MessageType, SUPPORTED_VERSIONS } from '../../src/lock/codec/constants.js';
import type { Frame } from '../../src/lock/codec/frame.js';
import { type BodyOf, encodeMessage, type MessageTypeCode } from '../../src/lock/codec/messages.js';
import {
  type BinaryVector,
  hex,
  MANIFEST,
  type SessionStep,
  type SessionVector,
  vectorLock,
} from './vector-helpers.js';

/**
 * Revision 1.2 vectors for binary framing on BLE (PROTOCOL.md §13.4): one frame as it travels
 * in a binary stream, a header no receiver may follow, and the switch in two exchanges —
 * with a lock that accepts and with a lock of revision 1.1 that ignores the offer. The
 * gateway starts its sequence numbers at 0x1234, as in the other session vectors.
 */

const SEQ = 0x1234;
const GATEWAY = 'KZ-DOSTYK-GW01';

const frame = <T extends MessageTypeCode>(type: T, seq: number, body: BodyOf<T>): Frame =>
  encodeMessage(type, seq, body);
const asLine = (f: Frame) => f.toLine().toString('latin1').trimEnd();
const lineStep = (from: 'gateway' | 'lock', f: Frame, note: string): SessionStep => ({
  from,
  line: asLine(f),
  note,
});
const binaryStep = (from: 'gateway' | 'lock', f: Frame, note: string): SessionStep => ({
  from,
  binary: hex(f.toBuffer()),
  note,
});

export function buildBinaryVectors(): (BinaryVector | SessionVector)[] {
  const { info } = vectorLock();
  const hello = frame(MessageType.Hello, SEQ, { v: [...SUPPORTED_VERSIONS], gw: GATEWAY, bin: true });
  const readR = frame(MessageType.ReadResponse, SEQ + 1, { off: 0, data: MANIFEST });
  const badLength = Buffer.from(frame(MessageType.Read, SEQ + 1, { off: 0, len: 1024 }).toBuffer());
  badLength.writeUInt16BE(1491, 4);

  return [
    {
      name: 'binary-read-response',
      description: 'READ_R as one frame of a binary stream: the bytes of §3 as they are, no marker, no LF',
      kind: 'binary',
      bytes: hex(readR.toBuffer()),
      line: asLine(readR),
      expect: 'valid',
      note: `${readR.toBuffer().byteLength} bytes binary, ${readR.toLine().byteLength} as a line with its LF`,
    },
    {
      name: 'binary-bad-length',
      description:
        'a binary frame header announcing a 1491-byte body: no receiver reads on; the link ends (§13.4)',
      kind: 'binary',
      bytes: hex(badLength.subarray(0, 6)),
      expect: { error: 'E_FRAME_LENGTH' },
      note: 'the receiver decides on the 6 header bytes alone, without waiting for a body',
    },
    {
      name: 'session-binary-framing',
      description:
        'HELLO offers binary framing on BLE, the lock accepts: after HELLO_R every frame is binary; a HELLO the gateway sends again as a line is answered binary (§13.4)',
      kind: 'session',
      side: 'lock',
      steps: [
        lineStep('gateway', hello, 'HELLO offering `bin`, a line'),
        lineStep(
          'lock',
          frame(MessageType.HelloResponse, SEQ, { ...info, v: 1, bin: true }),
          'HELLO_R accepting: the last line on this link',
        ),
        binaryStep('gateway', frame(MessageType.Read, SEQ + 1, { off: 0, len: 1024 }), 'READ, binary'),
        binaryStep('lock', readR, 'READ_R, binary'),
        lineStep(
          'gateway',
          frame(MessageType.Hello, SEQ + 2, { v: [...SUPPORTED_VERSIONS], gw: GATEWAY, bin: true }),
          'HELLO sent again, as a line: a `~` where a frame would start',
        ),
        binaryStep(
          'lock',
          frame(MessageType.HelloResponse, SEQ + 2, { ...info, v: 1, bin: true }),
          'answered binary: the link stays binary',
        ),
        binaryStep('gateway', frame(MessageType.Info, SEQ + 3, {}), 'INFO, binary'),
        binaryStep('lock', frame(MessageType.InfoResponse, SEQ + 3, info), 'INFO_R, binary'),
      ],
      expect: { answered: [SEQ, SEQ + 1, SEQ + 2, SEQ + 3], framing: 'binary' },
    },
    {
      name: 'session-binary-declined',
      description:
        'a lock of revision 1.1 ignores `bin` in HELLO (an unknown key): its HELLO_R has no `bin` and the link goes on with lines',
      kind: 'session',
      side: 'lock',
      steps: [
        lineStep('gateway', hello, 'HELLO offering `bin`'),
        lineStep('lock', frame(MessageType.HelloResponse, SEQ, { ...info, v: 1 }), 'HELLO_R without `bin`'),
        lineStep('gateway', frame(MessageType.Read, SEQ + 1, { off: 0, len: 1024 }), 'READ, a line'),
        lineStep('lock', readR, 'READ_R, a line'),
      ],
      expect: { answered: [SEQ, SEQ + 1], framing: 'line' },
    },
  ];
}
