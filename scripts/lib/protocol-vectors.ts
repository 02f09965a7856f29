import nacl from 'tweetnacl';
import { encodeCanonical } from '../../src/cbor/index.js';
import { EventKind, MAX_LINE, MessageType, WireError } from '../../src/lock/codec/constants.js';
import { encodeMessage } from '../../src/lock/codec/messages.js';
import { eventToWire } from '../../src/lock/event-log.js';
import { authPayload, carrierAuthPayload } from '../../src/lock/identity.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import {
  hex,
  invalid,
  MANIFEST,
  NONCE,
  rawLine,
  seedOf,
  T0,
  VECTOR_LOCK_ID,
  type Vector,
  valid,
  vectorCarrierKey,
  vectorEvent,
  vectorLock,
  vectorLockKey,
} from './vector-helpers.js';
import { buildAdvertisementVectors } from './vectors-advertising.js';
import { buildBinaryVectors } from './vectors-binary.js';
import { buildBodyVectors } from './vectors-body.js';
import { buildLogVectors } from './vectors-log.js';
import { buildSessionVectors } from './vectors-session.js';

export * from './vector-helpers.js';
export type { AdvertisementVector } from './vectors-advertising.js';

/**
 * The test vectors of firmware-protocol/vectors/, built from fixed inputs: those of
 * revision 1.0 here, the rules revision 1.1 added in vectors-body.ts (lines and CBOR),
 * vectors-log.ts (keys and event logs) and vectors-session.ts (exchanges).
 */
export function buildVectors(): Vector[] {
  const { mhash, events, info } = vectorLock();
  const head = events.at(-1)!;
  const auth = {
    lockId: VECTOR_LOCK_ID,
    nonce: NONCE,
    manifestHash: mhash,
    eventHead: head.hash,
    eventCount: head.counter,
  };
  const authSig = nacl.sign.detached(authPayload(auth), vectorLockKey.secretKey);
  const carrierNonce = seedOf('carrier nonce');
  const carrierSig = nacl.sign.detached(
    carrierAuthPayload(VECTOR_LOCK_ID, carrierNonce),
    vectorCarrierKey.secretKey,
  );
  const chunk1024 = Buffer.alloc(1024, 0);
  for (let i = 0; i < chunk1024.byteLength; i++) chunk1024[i] = i & 0xff;
  // The heads a lock answers with in the conversation these vectors form: COMMIT after the
  // write event, SEAL after the commit, UNSEAL (customs inspection) after the seal.
  const headOf = (e: { counter: number; hash: Uint8Array }) => ({ ecount: e.counter, ehead: e.hash });
  const unsealed = appendEvents(VECTOR_LOCK_ID, vectorLockKey.secretKey, events, [
    { kind: EventKind.Unsealed, time: T0 + 7200, detail: Buffer.from('customs inspection') },
  ]).at(-1)!;

  const v: Vector[] = [
    valid('hello-request', 'HELLO offering version 1', MessageType.Hello, 0x1234, {
      v: [1],
      gw: 'KZ-DOSTYK-GW01',
    }),
    valid(
      'hello-response',
      'HELLO answered with version 1 and the lock info',
      MessageType.HelloResponse,
      0x1234,
      {
        ...info,
        v: 1,
      },
    ),
    valid('info-request', 'INFO has an empty map as body', MessageType.Info, 0x1235, {}),
    valid('info-response', 'INFO answer', MessageType.InfoResponse, 0x1235, info),
    valid('auth-request', 'AUTH with a 32-byte nonce', MessageType.Auth, 0x1236, { nonce: NONCE }),
    valid(
      'auth-response',
      'AUTH answered with the signature of auth-signature.json',
      MessageType.AuthResponse,
      0x1236,
      {
        sig: authSig,
      },
    ),
    valid('read-request', 'READ the first 1024 bytes', MessageType.Read, 0x1237, { off: 0, len: 1024 }),
    valid('read-response', 'READ answer: the whole 54-byte manifest', MessageType.ReadResponse, 0x1237, {
      off: 0,
      data: MANIFEST,
    }),
    valid(
      'read-response-max-chunk',
      'READ answer with the largest chunk, 1024 bytes',
      MessageType.ReadResponse,
      0x0102,
      {
        off: 65536,
        data: chunk1024,
      },
    ),
    valid('events-request', 'EVENTS from counter 1, at most 64', MessageType.Events, 0x1238, {
      from: 1,
      max: 64,
    }),
    valid(
      'events-response',
      'EVENTS answer: the chain of event-chain.json',
      MessageType.EventsResponse,
      0x1238,
      {
        ev: events.map(eventToWire),
        count: head.counter,
      },
    ),
    valid(
      'events-response-empty',
      'EVENTS answer past the end of the log',
      MessageType.EventsResponse,
      0x1239,
      {
        ev: [],
        count: head.counter,
      },
    ),
    valid('write-request', 'WRITE a chunk into the staging area', MessageType.Write, 0x2001, {
      off: 0,
      data: MANIFEST,
    }),
    valid(
      'write-response',
      'WRITE answered with the contiguous staged size',
      MessageType.WriteResponse,
      0x2001,
      {
        staged: MANIFEST.byteLength,
      },
    ),
    valid('commit-request', 'COMMIT the staged manifest', MessageType.Commit, 0x2002, {
      size: MANIFEST.byteLength,
      hash: mhash,
    }),
    valid(
      'commit-response',
      'COMMIT answered with the new event head (the commit event of event-chain.json)',
      MessageType.CommitResponse,
      0x2002,
      headOf(events[1]!),
    ),
    valid('seal-request', 'SEAL for a container', MessageType.Seal, 0x2003, {
      t: T0 + 60,
      ref: 'MSKU9070323',
    }),
    valid(
      'seal-response',
      'SEAL answered with the new event head (the sealed event of event-chain.json)',
      MessageType.SealResponse,
      0x2003,
      headOf(events[2]!),
    ),
    valid('challenge-request', 'CHALLENGE for carrier authentication', MessageType.Challenge, 0x2004, {}),
    valid('challenge-response', 'CHALLENGE answered with a nonce', MessageType.ChallengeResponse, 0x2004, {
      nonce: carrierNonce,
    }),
    valid(
      'carrier-auth-request',
      'CARRIER_AUTH with the signature of carrier-auth-signature.json',
      MessageType.CarrierAuth,
      0x2005,
      {
        kid: 'KTZE-EXPRESS-01',
        sig: carrierSig,
      },
    ),
    valid('carrier-auth-response', 'CARRIER_AUTH accepted', MessageType.CarrierAuthResponse, 0x2005, {}),
    valid('unseal-request', 'UNSEAL with a reason', MessageType.Unseal, 0x2006, {
      t: T0 + 7200,
      reason: 'customs inspection',
    }),
    valid(
      'unseal-response',
      'UNSEAL answered with the new event head (an unsealed event appended to event-chain.json)',
      MessageType.UnsealResponse,
      0x2006,
      headOf(unsealed),
    ),
    valid('bye-request', 'BYE', MessageType.Bye, 0x123a, {}),
    valid('bye-response', 'BYE answered', MessageType.ByeResponse, 0x123a, {}),
    valid('error-busy', 'ERROR BUSY asking for a 50 ms pause', MessageType.Error, 0x1240, {
      code: WireError.Busy,
      msg: 'window full',
      retry: 50,
    }),
    valid('error-version', 'ERROR VERSION listing the versions the lock speaks', MessageType.Error, 0x1241, {
      code: WireError.Version,
      v: [2, 3],
    }),
    valid('error-out-of-range', 'ERROR OUT_OF_RANGE for a READ past the end', MessageType.Error, 0x1242, {
      code: WireError.OutOfRange,
    }),
    valid('error-gap', 'ERROR GAP telling where WRITE must continue', MessageType.Error, 0x2007, {
      code: WireError.Gap,
      staged: 4096,
    }),
    valid('error-vendor', 'ERROR with a vendor-specific code', MessageType.Error, 0x1243, {
      code: 0x8001,
      msg: 'flash wear level',
    }),
    valid('seq-wraparound', 'sequence numbers wrap from 0xffff to 0x0000', MessageType.Read, 0xffff, {
      off: 1024,
      len: 1024,
    }),
  ];

  const crlf = valid('crlf-line', 'a line may end in CR LF; the CR is ignored', MessageType.Bye, 0x0001, {});
  crlf.line = `${crlf.line}\r`;
  v.push(crlf);
  v.push({
    name: 'noise-line',
    description: 'a line without the ~ marker is noise (boot banner) and is ignored',
    kind: 'line',
    line: 'acme-lock 2.4.1 booting, flash ok',
    expect: 'noise',
  });

  const good = encodeMessage(MessageType.Read, 0x1237, { off: 0, len: 1024 }).toBuffer();
  const badCrc = Buffer.from(good);
  badCrc[badCrc.byteLength - 1]! ^= 0x01;
  const readBody = encodeCanonical({ off: 0, len: 1024 });
  v.push(
    invalid('bad-crc', 'the last CRC bit flipped', `~${badCrc.toString('base64')}`, 'E_FRAME_CRC'),
    invalid(
      'bad-base64',
      'a character outside the base64 alphabet',
      `~${good.toString('base64').slice(0, -4)}*AAA`,
      'E_FRAME_ENCODING',
    ),
    invalid(
      'unpadded-base64',
      'base64 must be padded to whole quanta',
      `~${good.toString('base64').replace(/=+$/, '')}`,
      'E_FRAME_ENCODING',
    ),
    invalid(
      'short-frame',
      'fewer than 10 bytes',
      `~${Buffer.from([1, 4, 0, 1]).toString('base64')}`,
      'E_FRAME_SHORT',
    ),
    invalid(
      'unknown-version',
      'frame version 9',
      rawLine(9, MessageType.Read, 1, readBody.byteLength, readBody),
      'E_FRAME_VERSION',
    ),
    invalid(
      'length-oversize',
      'length field 65535 with 10 body bytes, CRC correct',
      rawLine(1, MessageType.Read, 1, 0xffff, readBody),
      'E_FRAME_LENGTH',
    ),
    invalid(
      'length-undersize',
      'length field 2 with 10 body bytes, CRC correct',
      rawLine(1, MessageType.Read, 1, 2, readBody),
      'E_FRAME_LENGTH',
    ),
    invalid(
      'unknown-type',
      'message type 0x30',
      rawLine(1, 0x30, 1, readBody.byteLength, readBody),
      'E_FRAME_TYPE',
    ),
    invalid(
      'body-not-cbor',
      'body is a truncated CBOR map',
      rawLine(1, MessageType.Read, 1, 3, Buffer.from([0xa2, 0x63, 0x6f])),
      'E_FRAME_BODY',
    ),
    invalid(
      'body-missing-field',
      'READ without len',
      rawLine(1, MessageType.Read, 1, encodeCanonical({ off: 0 }).byteLength, encodeCanonical({ off: 0 })),
      'E_FRAME_BODY',
    ),
    invalid(
      'body-wrong-type',
      'READ with off as a text string',
      rawLine(
        1,
        MessageType.Read,
        1,
        encodeCanonical({ off: '0', len: 16 }).byteLength,
        encodeCanonical({ off: '0', len: 16 }),
      ),
      'E_FRAME_BODY',
    ),
    invalid(
      'read-len-too-large',
      'READ asking for 4096 bytes, above the 1024-byte chunk limit',
      rawLine(
        1,
        MessageType.Read,
        1,
        encodeCanonical({ off: 0, len: 4096 }).byteLength,
        encodeCanonical({ off: 0, len: 4096 }),
      ),
      'E_FRAME_BODY',
    ),
    invalid(
      'auth-short-nonce',
      'AUTH with a 16-byte nonce',
      rawLine(
        1,
        MessageType.Auth,
        1,
        encodeCanonical({ nonce: NONCE.subarray(0, 16) }).byteLength,
        encodeCanonical({ nonce: NONCE.subarray(0, 16) }),
      ),
      'E_FRAME_BODY',
    ),
    invalid(
      'line-too-long',
      `a line of ${MAX_LINE} bytes before its LF`,
      `~${'A'.repeat(MAX_LINE - 1)}`,
      'E_LINE_TOO_LONG',
    ),
  );

  v.push(
    {
      name: 'auth-signature',
      description: 'the AUTH payload (PROTOCOL.md §5.2) and its Ed25519 signature by the test lock key',
      kind: 'signature',
      publicKey: hex(vectorLockKey.publicKey),
      payload: hex(authPayload(auth)),
      signature: hex(authSig),
      inputs: {
        lockId: VECTOR_LOCK_ID,
        nonce: hex(NONCE),
        manifestHash: hex(mhash),
        eventHead: hex(head.hash),
        eventCount: head.counter,
      },
    },
    {
      name: 'carrier-auth-signature',
      description: 'the CARRIER_AUTH payload (PROTOCOL.md §5.3) signed by the test carrier key',
      kind: 'signature',
      publicKey: hex(vectorCarrierKey.publicKey),
      payload: hex(carrierAuthPayload(VECTOR_LOCK_ID, carrierNonce)),
      signature: hex(carrierSig),
      inputs: { lockId: VECTOR_LOCK_ID, nonce: hex(carrierNonce) },
    },
    {
      name: 'event-chain',
      description: 'three chained, signed events (PROTOCOL.md §7): write, commit, sealed',
      kind: 'event-chain',
      lockId: VECTOR_LOCK_ID,
      publicKey: hex(vectorLockKey.publicKey),
      events: events.map(vectorEvent),
    },
  );
  v.push(
    ...buildBodyVectors(),
    ...buildLogVectors(),
    ...buildSessionVectors(),
    ...buildBinaryVectors(),
    ...buildAdvertisementVectors(),
  );
  // Keep file names stable and unique.
  const names = new Set(v.map((x) => x.name));
  if (names.size !== v.length) throw new Error('duplicate vector names');
  return v;
}
