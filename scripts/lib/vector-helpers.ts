import { crc32 } from 'node:zlib';
import nacl from 'tweetnacl';
import { encodeCanonical } from '../../src/cbor/index.js';
import { EventKind, SealState } from '../../src/lock/codec/constants.js';
import type { Frame } from '../../src/lock/codec/frame.js';
import {
  type BodyOf,
  encodeMessage,
  type LockInfo,
  type MessageTypeCode,
} from '../../src/lock/codec/messages.js';
import type { LockEvent } from '../../src/lock/event-log.js';
import { sha256 } from '../../src/lock/identity.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import type { AdvertisementVector } from './vectors-advertising.js';

/**
 * What every vector builder shares: the vector file types, the published inputs (keys
 * derived from labels, PROTOCOL.md §15) and the line helpers. These seeds are for vectors
 * only and protect nothing.
 */

export type VectorExpectation = 'valid' | 'noise' | { error: string };

export interface FrameVector {
  name: string;
  description: string;
  kind: 'line';
  /** The line as on the wire, without its LF. */
  line: string;
  expect: VectorExpectation;
  frame?: {
    version: number;
    type: string;
    typeCode: number;
    seq: number;
    length: number;
    crc: string;
    hex: string;
  };
  /** The body in JSON, byte strings as { "hex": "…" }; for a non-canonical line, the fields a receiver knows. */
  body?: unknown;
  /** false: a legal encoding that is not deterministic, so re-encoding gives another line (§4). */
  canonical?: false;
}

export interface SignatureVector {
  name: string;
  description: string;
  kind: 'signature';
  publicKey: string;
  /** The exact bytes signed, hex. */
  payload: string;
  signature: string;
  inputs: Record<string, unknown>;
}

export interface EventChainVector {
  name: string;
  description: string;
  kind: 'event-chain';
  lockId: string;
  publicKey: string;
  events: VectorEvent[];
}

/** How a vector key is derived from its published label (PROTOCOL.md §15). */
export interface KeyVector {
  name: string;
  description: string;
  kind: 'key';
  label: string;
  /** SHA-256 of the label's UTF-8 bytes: the RFC 8032 seed. */
  seed: string;
  publicKey: string;
}

export interface VectorEvent {
  counter: number;
  time: number;
  kind: number;
  detail: string;
  prev: string;
  hash: string;
  sig: string;
  cbor: string;
}

/** A lock's announced state and log, and the tamper findings a gateway raises (§7, §12). */
export interface EventLogVector {
  name: string;
  description: string;
  kind: 'event-log';
  lockId: string;
  publicKey: string;
  state: { seal: number; msize: number; mhash: string; ecount: number; ehead: string };
  events: VectorEvent[];
  findings: string[];
}

export type SessionStep =
  | { from: 'gateway' | 'lock'; line: string; note: string }
  /** Bytes of a binary stream (PROTOCOL.md §13.4), hex: one frame as it travels. */
  | { from: 'gateway' | 'lock'; binary: string; note: string }
  | { waitMs: number; note: string };

/** A frame of a binary stream (PROTOCOL.md §13.4), or bytes no receiver may take for one. */
export interface BinaryVector {
  name: string;
  description: string;
  kind: 'binary';
  /** The bytes as they travel, hex. */
  bytes: string;
  /** The same frame as a line (§2), for comparison. */
  line?: string;
  expect: VectorExpectation;
  note: string;
}

/** An exchange on one link and what the side under test must do (PROTOCOL.md §9, §10). */
export interface SessionVector {
  name: string;
  description: string;
  kind: 'session';
  /** Whose behaviour the vector fixes. */
  side: 'lock' | 'gateway';
  steps: SessionStep[];
  expect: Record<string, unknown>;
}

export type Vector =
  | AdvertisementVector
  | FrameVector
  | BinaryVector
  | SignatureVector
  | EventChainVector
  | KeyVector
  | EventLogVector
  | SessionVector;

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const seedOf = (label: string): Buffer => sha256(Buffer.from(label, 'utf8'));

export const VECTOR_LOCK_ID = 'SSL-KZ-000123';
export const LOCK_KEY_LABEL = 'ctop test vector lock identity key';
export const CARRIER_KEY_LABEL = 'ctop test vector carrier key';
export const vectorLockKey = nacl.sign.keyPair.fromSeed(seedOf(LOCK_KEY_LABEL));
export const vectorCarrierKey = nacl.sign.keyPair.fromSeed(seedOf(CARRIER_KEY_LABEL));
export const NONCE = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
export const MANIFEST = Buffer.from('A manifest stands here: COSE_Sign1 bytes in real life.', 'utf8');
export const T0 = 1_790_000_000;

/** Body as JSON for the vector files: byte strings become { hex }. */
export function bodyToJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { hex: hex(value) };
  if (Array.isArray(value)) return value.map(bodyToJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bodyToJson(v)]));
  }
  return value;
}

/** The inverse of bodyToJson. */
export function bodyFromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(bodyFromJson);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.hex === 'string') return Buffer.from(o.hex, 'hex');
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, bodyFromJson(v)]));
  }
  return value;
}

export function describeFrame(frame: Frame): FrameVector['frame'] {
  const bin = frame.toBuffer();
  return {
    version: frame.version,
    type: frame.typeName,
    typeCode: frame.type,
    seq: frame.seq,
    length: frame.body.byteLength,
    crc: `0x${bin
      .readUInt32BE(bin.byteLength - 4)
      .toString(16)
      .padStart(8, '0')}`,
    hex: hex(bin),
  };
}

export function valid<T extends MessageTypeCode>(
  name: string,
  description: string,
  type: T,
  seq: number,
  body: BodyOf<T>,
): FrameVector {
  const frame = encodeMessage(type, seq, body);
  return {
    name,
    description,
    kind: 'line',
    line: frame.toLine().toString('latin1').trimEnd(),
    expect: 'valid',
    frame: describeFrame(frame),
    body: bodyToJson(body),
  };
}

/** A binary frame with a correct CRC over whatever header and body are given. */
export function rawLine(
  version: number,
  type: number,
  seq: number,
  length: number,
  body: Uint8Array,
): string {
  const head = Buffer.alloc(6);
  head.writeUInt8(version, 0);
  head.writeUInt8(type, 1);
  head.writeUInt16BE(seq, 2);
  head.writeUInt16BE(length, 4);
  const covered = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(covered));
  return `~${Buffer.concat([covered, crc]).toString('base64')}`;
}

export function invalid(name: string, description: string, line: string, error: string): FrameVector {
  return { name, description, kind: 'line', line, expect: { error } };
}

/** An event as the vector files show it: fields, CBOR of the hashed array, hash and signature. */
export function vectorEvent(e: LockEvent): VectorEvent {
  return {
    counter: e.counter,
    time: e.time,
    kind: e.kind,
    detail: hex(e.detail),
    prev: hex(e.prev),
    hash: hex(e.hash),
    sig: hex(e.sig),
    cbor: hex(encodeCanonical([e.counter, e.time, e.kind, e.detail, e.prev])),
  };
}

/** The vector lock (§15): its log (write, commit, sealed) and the INFO it announces. */
export function vectorLock(): { mhash: Buffer; events: LockEvent[]; info: LockInfo } {
  const mhash = sha256(MANIFEST);
  const events = appendEvents(
    VECTOR_LOCK_ID,
    vectorLockKey.secretKey,
    [],
    [
      { kind: EventKind.Write, time: T0, detail: Buffer.from('KTZE-EXPRESS-01') },
      { kind: EventKind.Commit, time: T0 + 30, detail: mhash.subarray(0, 8) },
      { kind: EventKind.Sealed, time: T0 + 60, detail: Buffer.from('MSKU9070323') },
    ],
  );
  const head = events.at(-1)!;
  const info: LockInfo = {
    id: VECTOR_LOCK_ID,
    fw: 'acme-lock 2.4.1',
    key: vectorLockKey.publicKey,
    bat: 87,
    seal: SealState.Sealed,
    msize: MANIFEST.byteLength,
    mhash,
    ecount: head.counter,
    ehead: head.hash,
    chunk: 1024,
    win: 8,
    time: T0 + 3600,
    staged: 0,
  };
  return { mhash, events, info };
}
