/**
 * The two fixed CBOR frames every signed message needs, written directly: the COSE
 * Sig_structure `["Signature1", protected, h'', payload]` and the COSE_Sign1
 * `18([protected, {}, payload, signature])`. Their only variable parts are byte strings,
 * so their deterministic encoding is a header per byte string and a concatenation — no
 * general encoder walking (and copying) a manifest-sized payload three times per message.
 * test/exchange-wire/protocol.test.ts checks the bytes equal the general deterministic encoder's.
 */

/** The head of a CBOR item of major type `major` with argument `n`, in its shortest form. */
export function head(major: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(headLength(n));
  writeHead(b, 0, major, n);
  return b;
}

const bstr = (bytes: Uint8Array): Buffer[] => [
  head(2, bytes.byteLength),
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
];

/** 0x84 (array of 4), "Signature1" as a text string. */
const SIG_STRUCTURE_PREFIX = Buffer.concat([
  Buffer.of(0x84),
  head(3, 10),
  Buffer.from('Signature1', 'ascii'),
]);
/** An empty byte string: external_aad. */
const EMPTY_BSTR = Buffer.of(0x40);
/** Tag 18, array of 4. */
const SIGN1_PREFIX = Buffer.of(0xd2, 0x84);
/** The empty unprotected header map. */
const EMPTY_MAP = Buffer.of(0xa0);

function lengthOf(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const part of parts) n += part.byteLength;
  return n;
}

/** The bytes an Ed25519 signature covers (RFC 9052 §4.4), empty external_aad. */
export function sigStructureBytes(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  return Buffer.concat([SIG_STRUCTURE_PREFIX, ...bstr(protectedBytes), EMPTY_BSTR, ...bstr(payload)]);
}

/** A tagged COSE_Sign1 with an empty unprotected header. */
export function sign1Bytes(protectedBytes: Uint8Array, payload: Uint8Array, signature: Uint8Array): Buffer {
  return Buffer.concat([
    SIGN1_PREFIX,
    ...bstr(protectedBytes),
    EMPTY_MAP,
    ...bstr(payload),
    ...bstr(signature),
  ]);
}

/**
 * Signs a body given in parts and returns the COSE_Sign1, copying the body once: the
 * Sig_structure is written in front of the body in one buffer, signed, then its head is
 * overwritten by the (shorter) COSE_Sign1 head and the signature appended. The same bytes
 * as `sign1Bytes(protected, body, sign(sigStructureBytes(protected, body)))`.
 */
export function signedSign1(
  protectedBytes: Uint8Array,
  bodyParts: readonly Uint8Array[],
  sign: (toBeSigned: Buffer) => Uint8Array,
): Buffer {
  const bodyLength = lengthOf(bodyParts);
  const bodyHead = head(2, bodyLength);
  const sigHead = Buffer.concat([SIG_STRUCTURE_PREFIX, ...bstr(protectedBytes), EMPTY_BSTR, bodyHead]);
  const sign1Head = Buffer.concat([SIGN1_PREFIX, ...bstr(protectedBytes), EMPTY_MAP, bodyHead]);
  // The Sig_structure's head is the longer one ("Signature1" against tag and empty map).
  const at = sigHead.byteLength;
  const out = Buffer.allocUnsafe(at + bodyLength + 2 + 64);
  sigHead.copy(out, 0);
  let offset = at;
  for (const part of bodyParts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  const signature = sign(out.subarray(0, offset));
  if (signature.byteLength !== 64) throw new TypeError('an Ed25519 signature is 64 bytes');
  const start = at - sign1Head.byteLength;
  sign1Head.copy(out, start);
  out[offset] = 0x58;
  out[offset + 1] = 64;
  out.set(signature, offset + 2);
  return out.subarray(start);
}

/** The signature over a body given in parts (the Sig_structure written once, body copied once). */
export function signParts(
  protectedBytes: Uint8Array,
  bodyParts: readonly Uint8Array[],
  sign: (toBeSigned: Buffer) => Uint8Array,
): Uint8Array {
  const bodyLength = lengthOf(bodyParts);
  const signature = sign(
    Buffer.concat([
      SIG_STRUCTURE_PREFIX,
      ...bstr(protectedBytes),
      EMPTY_BSTR,
      head(2, bodyLength),
      ...bodyParts,
    ]),
  );
  if (signature.byteLength !== 64) throw new TypeError('an Ed25519 signature is 64 bytes');
  return signature;
}

/**
 * A tagged COSE_Sign1 from a signature made earlier: the protected header, the unprotected
 * header's encoded map, the body in parts and the signature, copied once into the message.
 */
export function sign1FromParts(
  protectedBytes: Uint8Array,
  unprotectedBytes: Uint8Array,
  bodyParts: readonly Uint8Array[],
  signature: Uint8Array,
  /** Where the bytes go: a buffer of exactly `length` bytes (the sync passes reused ones). */
  allocate: (length: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  // Written into one buffer: a drain sends thousands of these, and every head or part list
  // made on the way is garbage of each message.
  const bodyLength = lengthOf(bodyParts);
  const out = allocate(
    SIGN1_PREFIX.byteLength +
      headLength(protectedBytes.byteLength) +
      protectedBytes.byteLength +
      unprotectedBytes.byteLength +
      headLength(bodyLength) +
      bodyLength +
      headLength(signature.byteLength) +
      signature.byteLength,
  );
  out.set(SIGN1_PREFIX, 0);
  let at = writeHead(out, SIGN1_PREFIX.byteLength, 2, protectedBytes.byteLength);
  out.set(protectedBytes, at);
  at += protectedBytes.byteLength;
  out.set(unprotectedBytes, at);
  at += unprotectedBytes.byteLength;
  at = writeHead(out, at, 2, bodyLength);
  for (const part of bodyParts) {
    out.set(part, at);
    at += part.byteLength;
  }
  at = writeHead(out, at, 2, signature.byteLength);
  out.set(signature, at);
  return out;
}

/** The length of `head(major, n)`. */
function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes `head(major, n)` at `at`; returns the offset after it. */
function writeHead(out: Buffer, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = m | 25;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  out[at] = m | 26;
  out.writeUInt32BE(n, at + 1);
  return at + 5;
}
