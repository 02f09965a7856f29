import nacl from 'tweetnacl';
import { MessageType, SUPPORTED_VERSIONS, WireError } from '../../src/lock/codec/constants.js';
import type { Frame } from '../../src/lock/codec/frame.js';
import {
  type BodyOf,
  encodeMessage,
  type LockInfo,
  type MessageTypeCode,
} from '../../src/lock/codec/messages.js';
import { eventToWire } from '../../src/lock/event-log.js';
import { authPayload } from '../../src/lock/identity.js';
import {
  MANIFEST,
  NONCE,
  type SessionStep,
  type SessionVector,
  vectorLock,
  vectorLockKey,
} from './vector-helpers.js';

/**
 * Revision 1.1 vectors for exchanges (PROTOCOL.md §9.2, §9.3, §10): exact lines in order,
 * with the behaviour the side under test must show. The gateway starts its sequence numbers
 * at 0x1234 and uses the AUTH nonce of `auth-request`; the gateway id is KZ-DOSTYK-GW01.
 */

const SEQ = 0x1234;
const GATEWAY = 'KZ-DOSTYK-GW01';

const line = (frame: Frame) => frame.toLine().toString('latin1').trimEnd();
const msg = <T extends MessageTypeCode>(type: T, seq: number, body: BodyOf<T>) =>
  line(encodeMessage(type, seq, body));
const gateway = (text: string, note: string): SessionStep => ({ from: 'gateway', line: text, note });
const lock = (text: string, note: string): SessionStep => ({ from: 'lock', line: text, note });

/** The same line with its CRC's last bit flipped: fails check 2 of §3. */
function badCrc(text: string): string {
  const bin = Buffer.from(text.slice(1), 'base64');
  bin[bin.byteLength - 1]! ^= 0x01;
  return `~${bin.toString('base64')}`;
}

function hello(info: LockInfo): SessionStep[] {
  return [
    gateway(msg(MessageType.Hello, SEQ, { v: [...SUPPORTED_VERSIONS], gw: GATEWAY }), 'HELLO'),
    lock(msg(MessageType.HelloResponse, SEQ, { ...info, v: 1 }), 'HELLO_R'),
  ];
}

function auth(info: LockInfo): SessionStep[] {
  const sig = nacl.sign.detached(
    authPayload({
      lockId: info.id,
      nonce: NONCE,
      manifestHash: info.mhash,
      eventHead: info.ehead,
      eventCount: info.ecount,
    }),
    vectorLockKey.secretKey,
  );
  return [
    gateway(msg(MessageType.Auth, SEQ + 1, { nonce: NONCE }), 'AUTH'),
    lock(msg(MessageType.AuthResponse, SEQ + 1, { sig }), 'AUTH_R'),
  ];
}

export function buildSessionVectors(): SessionVector[] {
  const { events, info } = vectorLock();
  const read = msg(MessageType.Read, SEQ + 1, { off: 0, len: 1024 });
  const authAnswer = (auth(info)[1] as { line: string }).line;

  // Two READs in flight (chunk 32, win 2); the lock answers the second first.
  const small = { ...info, chunk: 32, win: 2 };
  const outOfOrder: SessionStep[] = [
    ...hello(small),
    ...auth(small),
    gateway(msg(MessageType.Read, SEQ + 2, { off: 0, len: 32 }), 'READ [0, 32)'),
    gateway(msg(MessageType.Read, SEQ + 3, { off: 32, len: 22 }), 'READ [32, 54), the window is full'),
    lock(
      msg(MessageType.ReadResponse, SEQ + 3, { off: 32, data: MANIFEST.subarray(32) }),
      'the answer to the second READ comes first: the first is lost',
    ),
    gateway(
      msg(MessageType.Read, SEQ + 4, { off: 0, len: 32 }),
      'fast retransmission of READ [0, 32) with a new seq',
    ),
    lock(
      msg(MessageType.Error, SEQ + 2, { code: WireError.Busy, retry: 50 }),
      'late ERROR BUSY to the first READ: dropped, decides nothing',
    ),
    lock(
      msg(MessageType.ReadResponse, SEQ + 4, { off: 0, data: MANIFEST.subarray(0, 32) }),
      'the answer to the retransmission',
    ),
    gateway(msg(MessageType.Events, SEQ + 5, { from: 1, max: 64 }), 'EVENTS'),
    lock(
      msg(MessageType.EventsResponse, SEQ + 5, { ev: events.map(eventToWire), count: info.ecount }),
      'EVENTS_R',
    ),
    gateway(msg(MessageType.Bye, SEQ + 6, {}), 'BYE'),
    lock(msg(MessageType.ByeResponse, SEQ + 6, {}), 'BYE_R'),
  ];

  return [
    {
      name: 'session-duplicate-seq',
      description: 'a READ frame arrives twice (same seq): the lock answers it once (§9.2)',
      kind: 'session',
      side: 'lock',
      steps: [
        ...hello(info),
        gateway(read, 'READ [0, 1024)'),
        lock(msg(MessageType.ReadResponse, SEQ + 1, { off: 0, data: MANIFEST }), 'READ_R'),
        gateway(read, 'the same READ frame again: a duplicate, dropped silently'),
        gateway(msg(MessageType.Info, SEQ + 2, {}), 'INFO'),
        lock(msg(MessageType.InfoResponse, SEQ + 2, info), 'INFO_R: the only answer after the duplicate'),
      ],
      expect: { answered: [SEQ, SEQ + 1, SEQ + 2] },
    },
    {
      name: 'session-replay-bound',
      description:
        'the lock sends its AUTH answer 33 more times: the read ends on the 33rd replay, on this link, with no new link',
      kind: 'session',
      side: 'gateway',
      steps: [
        ...hello(info),
        ...auth(info),
        ...Array.from({ length: 33 }, (_, i) => lock(authAnswer, `replay ${i + 1} of AUTH_R`)),
      ],
      expect: { outcome: 'failed', error: 'E_FRAME_REPLAY', replays: 33, links: 1, alert: 'lock_protocol' },
    },
    {
      name: 'session-out-of-order',
      description: 'answers out of order, a late ERROR among them: the retransmission alone decides (§9.3)',
      kind: 'session',
      side: 'gateway',
      steps: outOfOrder,
      expect: {
        outcome: 'complete',
        manifest: 'the 54 bytes of the vector manifest',
        late: 1,
        replays: 0,
        strays: 0,
      },
    },
    {
      name: 'session-read-deadline',
      description:
        'after HELLO the lock sends 5 frames with a bad CRC, then nothing: the read ends 15 s after it began (§10)',
      kind: 'session',
      side: 'gateway',
      steps: [
        gateway(
          msg(MessageType.Hello, SEQ, { v: [...SUPPORTED_VERSIONS], gw: GATEWAY }),
          'HELLO (the gateway retransmits it later with new seqs; those lines are not listed)',
        ),
        ...Array.from({ length: 5 }, (_, i): SessionStep[] => [
          lock(
            badCrc(msg(MessageType.HelloResponse, SEQ, { ...info, v: 1 })),
            `HELLO_R with a bad CRC (${i + 1} of 5)`,
          ),
          { waitMs: 1000, note: 'one second' },
        ]).flat(),
      ],
      expect: {
        outcome: 'failed',
        error: 'E_FRAME_CRC',
        deadline: true,
        endsAfterMs: 15_000,
        links: 1,
        note: 'whatever retransmissions and links the gateway had left',
      },
    },
    {
      name: 'session-malformed-run',
      description:
        'after HELLO the lock sends 16 frames with a bad CRC in a row: the read ends at the 16th, before any deadline (§10)',
      kind: 'session',
      side: 'gateway',
      steps: [
        gateway(msg(MessageType.Hello, SEQ, { v: [...SUPPORTED_VERSIONS], gw: GATEWAY }), 'HELLO'),
        ...Array.from({ length: 16 }, (_, i) =>
          lock(
            badCrc(msg(MessageType.HelloResponse, SEQ, { ...info, v: 1 })),
            `HELLO_R with a bad CRC (${i + 1} of 16)`,
          ),
        ),
      ],
      expect: { outcome: 'failed', error: 'E_FRAME_CRC', malformedRun: 16, links: 1 },
    },
  ];
}
