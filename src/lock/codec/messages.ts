import { z } from 'zod';
import { decodeWellFormed, encodeCanonical } from '../../cbor/index.js';
import { CtopError } from '../../errors.js';
import {
  LOCK_ID_PATTERN,
  MAX_BODY,
  MAX_BODY_DEPTH,
  MAX_BODY_ITEMS,
  MAX_CHUNK,
  MAX_EVENT_DETAIL,
  MAX_EVENTS_PER_FRAME,
  MAX_WINDOW,
  MESSAGE_NAMES,
  MessageType,
  MIN_CHUNK,
  PROTOCOL_VERSION,
} from './constants.js';
import { Frame } from './frame.js';

/**
 * The CBOR body of every message type (PROTOCOL.md §4), as runtime schemas. Receivers
 * ignore unknown keys so a minor revision can add fields; a missing or mistyped field is
 * E_FRAME_BODY.
 */

const u8 = z.number().int().min(0).max(0xff);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);
const byteString = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be a byte string' });
const bytes = (size: number) =>
  byteString.refine((b) => b.byteLength === size, { message: `must be exactly ${size} bytes` });
const bytesUpTo = (max: number, min = 0) =>
  byteString.refine((b) => b.byteLength >= min && b.byteLength <= max, {
    message: `must be ${min}-${max} bytes`,
  });
const text = (max: number, min = 0) => z.string().min(min).max(max);
const empty = z.object({});
const chainHead = z.object({ ecount: u32, ehead: bytes(32) });

export const lockInfoSchema = z.object({
  /** Lock id, printed on the lock body. */
  id: z.string().regex(LOCK_ID_PATTERN),
  /** Firmware version, free text. */
  fw: text(32),
  /** Ed25519 identity public key. */
  key: bytes(32),
  /** Battery, percent. */
  bat: z.number().int().min(0).max(100),
  /** SealState. */
  seal: z.number().int().min(0).max(2),
  /** Manifest size in bytes; 0 when the lock carries none. */
  msize: u32,
  /** SHA-256 of the manifest; 32 zero bytes when none. */
  mhash: bytes(32),
  /** Counter of the newest event; 0 when the log is empty. */
  ecount: u32,
  /** Hash of the newest event; 32 zero bytes when the log is empty. */
  ehead: bytes(32),
  /** Largest READ/WRITE chunk the lock serves. */
  chunk: z.number().int().min(MIN_CHUNK).max(MAX_CHUNK),
  /** Requests the lock accepts in flight. */
  win: z.number().int().min(1).max(MAX_WINDOW),
  /** Lock clock, Unix seconds. */
  time: u32,
  /** Contiguous bytes in the staging area of an unfinished WRITE; 0 when none. */
  staged: u32,
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

/** One entry of the hash-chained event log: [counter, time, kind, detail, prev, sig]. */
export const lockEventSchema = z.tuple([u32, u32, u8, bytesUpTo(MAX_EVENT_DETAIL), bytes(32), bytes(64)]);
export type WireEvent = z.infer<typeof lockEventSchema>;

const schemas = {
  // `bin`: binary framing on BLE offered (HELLO) and accepted (HELLO_R), PROTOCOL.md §13.4.
  [MessageType.Hello]: z.object({
    v: z.array(u8.min(1)).min(1).max(8),
    gw: text(64, 1),
    bin: z.boolean().optional(),
  }),
  [MessageType.HelloResponse]: lockInfoSchema.extend({ v: u8.min(1), bin: z.boolean().optional() }),
  [MessageType.Info]: empty,
  [MessageType.InfoResponse]: lockInfoSchema,
  [MessageType.Auth]: z.object({ nonce: bytes(32) }),
  [MessageType.AuthResponse]: z.object({ sig: bytes(64) }),
  [MessageType.Read]: z.object({ off: u32, len: z.number().int().min(1).max(MAX_CHUNK) }),
  [MessageType.ReadResponse]: z.object({ off: u32, data: bytesUpTo(MAX_CHUNK) }),
  [MessageType.Events]: z.object({
    from: u32.min(1),
    max: z.number().int().min(1).max(MAX_EVENTS_PER_FRAME),
  }),
  [MessageType.EventsResponse]: z.object({
    ev: z.array(lockEventSchema).max(MAX_EVENTS_PER_FRAME),
    count: u32,
  }),
  [MessageType.Write]: z.object({ off: u32, data: bytesUpTo(MAX_CHUNK, 1) }),
  [MessageType.WriteResponse]: z.object({ staged: u32 }),
  [MessageType.Commit]: z.object({ size: u32, hash: bytes(32) }),
  [MessageType.CommitResponse]: chainHead,
  [MessageType.Seal]: z.object({ t: u32, ref: text(32) }),
  [MessageType.SealResponse]: chainHead,
  [MessageType.Challenge]: empty,
  [MessageType.ChallengeResponse]: z.object({ nonce: bytes(32) }),
  [MessageType.CarrierAuth]: z.object({ kid: text(64, 1), sig: bytes(64) }),
  [MessageType.CarrierAuthResponse]: empty,
  [MessageType.Unseal]: z.object({ t: u32, reason: text(64) }),
  [MessageType.UnsealResponse]: chainHead,
  [MessageType.Bye]: empty,
  [MessageType.ByeResponse]: empty,
  [MessageType.Error]: z.object({
    code: u16.min(1),
    msg: text(128).optional(),
    /** BUSY: milliseconds to wait before retrying. */
    retry: u32.optional(),
    /** GAP: contiguous bytes staged, where WRITE must continue. */
    staged: u32.optional(),
    /** VERSION: the versions the lock speaks. */
    v: z.array(u8).max(8).optional(),
  }),
} as const;

type Schemas = typeof schemas;
export type MessageTypeCode = keyof Schemas;
export type BodyOf<T extends MessageTypeCode> = z.infer<Schemas[T]>;

/** A decoded message: its frame header fields plus a body typed by its message type. */
export type Message = {
  [T in MessageTypeCode]: {
    readonly version: number;
    readonly type: T;
    readonly seq: number;
    readonly body: BodyOf<T>;
  };
}[MessageTypeCode];

export type MessageOf<T extends MessageTypeCode> = Extract<Message, { type: T }>;

/** The response type of each request type. */
interface ResponseTypes {
  [MessageType.Hello]: MessageType.HelloResponse;
  [MessageType.Info]: MessageType.InfoResponse;
  [MessageType.Auth]: MessageType.AuthResponse;
  [MessageType.Read]: MessageType.ReadResponse;
  [MessageType.Events]: MessageType.EventsResponse;
  [MessageType.Write]: MessageType.WriteResponse;
  [MessageType.Commit]: MessageType.CommitResponse;
  [MessageType.Seal]: MessageType.SealResponse;
  [MessageType.Challenge]: MessageType.ChallengeResponse;
  [MessageType.CarrierAuth]: MessageType.CarrierAuthResponse;
  [MessageType.Unseal]: MessageType.UnsealResponse;
  [MessageType.Bye]: MessageType.ByeResponse;
}
export type RequestTypeCode = keyof ResponseTypes;
export type ResponseOf<T extends MessageTypeCode> = T extends RequestTypeCode ? ResponseTypes[T] : never;

export function isKnownType(type: number): type is MessageTypeCode {
  return Object.hasOwn(schemas, type);
}

export function isRequestType(type: number): boolean {
  return type < 0x80 && isKnownType(type);
}

/** Builds the frame of a message; the body is validated first so we never send garbage. */
export function encodeMessage<T extends MessageTypeCode>(
  type: T,
  seq: number,
  body: BodyOf<T>,
  version: number = PROTOCOL_VERSION,
): Frame {
  const parsed = schemas[type].safeParse(body);
  if (!parsed.success) {
    throw new TypeError(
      `refusing to send an invalid ${MESSAGE_NAMES[type]} body: ${z.prettifyError(parsed.error)}`,
    );
  }
  const encoded = encodeCanonical(body);
  if (encoded.byteLength > MAX_BODY) {
    throw new RangeError(`${MESSAGE_NAMES[type]} body of ${encoded.byteLength} bytes exceeds ${MAX_BODY}`);
  }
  return new Frame(version, type, seq & 0xffff, encoded);
}

/** Decodes and validates the body of a frame; throws E_FRAME_TYPE or E_FRAME_BODY. */
export function decodeMessage(frame: Frame): Message {
  const { type } = frame;
  if (!isKnownType(type)) {
    throw new CtopError('E_FRAME_TYPE', `unknown message type 0x${type.toString(16)}`, { details: { type } });
  }
  let value: unknown;
  try {
    // Any legal encoding, within the limits of PROTOCOL.md §4, each checked before allocating.
    value = decodeWellFormed(
      frame.body,
      { maxDepth: MAX_BODY_DEPTH, maxItems: MAX_BODY_ITEMS },
      'E_FRAME_BODY',
    );
  } catch (err) {
    throw new CtopError(
      'E_FRAME_BODY',
      `${frame.typeName} body is not valid CBOR within the limits of PROTOCOL.md §4: ${(err as Error).message}`,
      {
        cause: err,
        details: { type: frame.typeName },
      },
    );
  }
  const parsed = schemas[type].safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CtopError(
      'E_FRAME_BODY',
      `${frame.typeName} body: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      {
        details: { type: frame.typeName, path: issue?.path.join('.') },
      },
    );
  }
  return { version: frame.version, type, seq: frame.seq, body: parsed.data } as Message;
}
