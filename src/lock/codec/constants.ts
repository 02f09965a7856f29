/**
 * Numbers fixed by firmware-protocol/PROTOCOL.md. A change here is a protocol change:
 * update the spec and the vectors with it.
 */

/** Protocol versions this agent speaks, ascending (PROTOCOL.md §6). */
export const SUPPORTED_VERSIONS: readonly number[] = [1];
export const PROTOCOL_VERSION = 1;

/** First byte of every frame line; lines without it are noise (boot banners, debug prints). */
export const LINE_MARKER = '~';
/** Hard maximum of one line in bytes, marker and LF included (PROTOCOL.md §2). */
export const MAX_LINE = 2048;
/** Maximum binary frame: header + body + CRC; its base64 line fits MAX_LINE. */
export const MAX_FRAME = 1500;
export const HEADER_SIZE = 6;
export const CRC_SIZE = 4;
export const MAX_BODY = MAX_FRAME - HEADER_SIZE - CRC_SIZE;

/** Largest READ/WRITE chunk any lock may announce. */
export const MAX_CHUNK = 1024;
export const MIN_CHUNK = 16;
/** Largest window (requests in flight) any lock may announce. */
export const MAX_WINDOW = 16;
/** Lock ids: 1-16 characters of A-Z, 0-9 and '-', so they fit a BLE scan response. */
export const LOCK_ID_PATTERN = /^[A-Z0-9-]{1,16}$/;
/** Most events a lock may return in one EVENTS response. */
export const MAX_EVENTS_PER_FRAME = 64;
/** Maximum size of an event's kind-specific detail. */
export const MAX_EVENT_DETAIL = 64;
/** CBOR limits of a body (PROTOCOL.md §4): nesting levels (the body map is 1) and items per array or map. */
export const MAX_BODY_DEPTH = 8;
export const MAX_BODY_ITEMS = 64;

/** Message types. A response is the request type with bit 7 set; ERROR answers any request. */
export enum MessageType {
  Hello = 0x01,
  Info = 0x02,
  Auth = 0x03,
  Read = 0x04,
  Events = 0x05,
  Write = 0x06,
  Commit = 0x07,
  Seal = 0x08,
  Challenge = 0x09,
  CarrierAuth = 0x0a,
  Unseal = 0x0b,
  Bye = 0x0c,
  HelloResponse = 0x81,
  InfoResponse = 0x82,
  AuthResponse = 0x83,
  ReadResponse = 0x84,
  EventsResponse = 0x85,
  WriteResponse = 0x86,
  CommitResponse = 0x87,
  SealResponse = 0x88,
  ChallengeResponse = 0x89,
  CarrierAuthResponse = 0x8a,
  UnsealResponse = 0x8b,
  ByeResponse = 0x8c,
  Error = 0xff,
}

export const RESPONSE_BIT = 0x80;

export const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  1: 'HELLO',
  2: 'INFO',
  3: 'AUTH',
  4: 'READ',
  5: 'EVENTS',
  6: 'WRITE',
  7: 'COMMIT',
  8: 'SEAL',
  9: 'CHALLENGE',
  10: 'CARRIER_AUTH',
  11: 'UNSEAL',
  12: 'BYE',
  129: 'HELLO_R',
  130: 'INFO_R',
  131: 'AUTH_R',
  132: 'READ_R',
  133: 'EVENTS_R',
  134: 'WRITE_R',
  135: 'COMMIT_R',
  136: 'SEAL_R',
  137: 'CHALLENGE_R',
  138: 'CARRIER_AUTH_R',
  139: 'UNSEAL_R',
  140: 'BYE_R',
  255: 'ERROR',
};

/** Numbered error codes a lock returns in an ERROR frame (PROTOCOL.md §8). */
export enum WireError {
  Malformed = 1,
  Version = 2,
  UnknownType = 3,
  BadState = 4,
  NotAuthorized = 5,
  OutOfRange = 6,
  Busy = 7,
  Sealed = 8,
  HashMismatch = 9,
  Storage = 10,
  NoManifest = 11,
  AuthFailed = 12,
  TooLarge = 13,
  NotSealed = 14,
  Gap = 15,
  Internal = 16,
}

export const WIRE_ERROR_NAMES: Readonly<Record<number, string>> = {
  1: 'MALFORMED',
  2: 'VERSION',
  3: 'UNKNOWN_TYPE',
  4: 'BAD_STATE',
  5: 'NOT_AUTHORIZED',
  6: 'OUT_OF_RANGE',
  7: 'BUSY',
  8: 'SEALED',
  9: 'HASH_MISMATCH',
  10: 'STORAGE',
  11: 'NO_MANIFEST',
  12: 'AUTH_FAILED',
  13: 'TOO_LARGE',
  14: 'NOT_SEALED',
  15: 'GAP',
  16: 'INTERNAL',
};

/** Vendor-specific wire error codes live in this range (like mcumgr's MGMT_ERR_EPERUSER). */
export const VENDOR_ERROR_MIN = 0x8000;
export const VENDOR_ERROR_MAX = 0xffff;

export function wireErrorName(code: number): string {
  if (code >= VENDOR_ERROR_MIN && code <= VENDOR_ERROR_MAX) return `VENDOR_${code.toString(16)}`;
  return WIRE_ERROR_NAMES[code] ?? `UNKNOWN_${code}`;
}

/** Seal states reported in INFO and in BLE advertising. */
export enum SealState {
  Unsealed = 0,
  Sealed = 1,
  /** The shackle was opened without an authenticated UNSEAL. */
  Tampered = 2,
}

/** Event kinds in the lock's hash-chained log (PROTOCOL.md §7). */
export enum EventKind {
  Sealed = 1,
  Opened = 2,
  Tamper = 3,
  LowBattery = 4,
  Write = 5,
  Commit = 6,
  Unsealed = 7,
}

export const EVENT_KIND_NAMES: Readonly<Record<number, string>> = {
  1: 'sealed',
  2: 'opened',
  3: 'tamper',
  4: 'low_battery',
  5: 'write',
  6: 'commit',
  7: 'unsealed',
};

/** Domain-separation prefixes of the Ed25519 signatures (PROTOCOL.md §5, §7). */
export const AUTH_CONTEXT = 'CTOP-LOCK-AUTH-1';
export const EVENT_CONTEXT = 'CTOP-LOCK-EVENT-1';
export const CARRIER_CONTEXT = 'CTOP-CARRIER-AUTH-1';
