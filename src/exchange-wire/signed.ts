import { signedSign1, sigStructureBytes } from '../cbor/cose-frame.js';
import { type CborLimits, decodeDeterministic, encodeCanonical, Tag } from '../cbor/index.js';
import { CtopError, isCtopError } from '../errors.js';
import { KID_PATTERN } from '../keys/index.js';
import type { Ed25519Signer } from './ed25519.js';
import { malformed } from './fields.js';

/**
 * Every message between a gateway and the exchange is one COSE_Sign1 (RFC 9052 §4.2), the
 * structure the manifest already uses (EXCHANGE.md §3):
 *
 *   18([ protected: bstr .cbor { 1: -8, 3: content-type, 4: kid },
 *        unprotected: {},  payload: bstr .cbor body,  signature: bstr .size 64 ])
 *
 * An envelope of version 1.2 carries the two fields that change between copies of one
 * message (`sentAt`, `attempt`) in the unprotected header instead of the body, so its
 * signature covers only what never changes and is made once per message (EXCHANGE.md §3).
 *
 * The content type names the message kind, so a signature over a receipt can never pass
 * for an envelope, a query or a manifest signed by the same key.
 */
export const CONTENT_TYPES = {
  envelope: 'application/ctop-envelope+cbor',
  receipt: 'application/ctop-receipt+cbor',
  query: 'application/ctop-query+cbor',
  queryResult: 'application/ctop-query-result+cbor',
} as const;
export type ContentType = (typeof CONTENT_TYPES)[keyof typeof CONTENT_TYPES];

const COSE_SIGN1_TAG = 18;
const COSE_ALG_EDDSA = -8;
const HEADER_ALG = 1;
const HEADER_CONTENT_TYPE = 3;
const HEADER_KID = 4;

/** Largest message accepted on any ctop topic: a 256 KiB manifest plus headers, with room. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface SignedMessage {
  /** As the protected header says; `openMessage` guarantees it is the expected one. */
  contentType: string;
  kid: string;
  /** The protected header exactly as received: the signature covers it. */
  protectedBytes: Uint8Array;
  /** The body's CBOR bytes exactly as received. */
  bodyBytes: Uint8Array;
  /**
   * The unprotected header: empty, or for an envelope of version 1.2 its per-copy fields
   * (`sentAt`, `attempt`; values unchecked here, `readEnvelope` reads them). Not signed.
   */
  unprotected: ReadonlyMap<string, unknown>;
  signature: Uint8Array;
}

/** The bytes the signature covers: COSE Sig_structure with empty external_aad. */
export function toBeSigned(message: Pick<SignedMessage, 'protectedBytes' | 'bodyBytes'>): Buffer {
  return sigStructureBytes(message.protectedBytes, message.bodyBytes);
}

/** Protected headers made so far: one per content type and key. */
const headers = new Map<string, Buffer>();

function protectedHeader(contentType: ContentType, kid: string): Buffer {
  const id = `${contentType}\0${kid}`;
  let header = headers.get(id);
  if (!header) {
    header = encodeCanonical(
      new Map<number, unknown>([
        [HEADER_ALG, COSE_ALG_EDDSA],
        [HEADER_CONTENT_TYPE, contentType],
        [HEADER_KID, Buffer.from(kid, 'utf8')],
      ]),
    );
    if (headers.size > 1024) headers.clear();
    headers.set(id, header);
  }
  return header;
}

/** Encodes `body` as deterministic CBOR and signs it. */
export function signMessage(signer: Ed25519Signer, contentType: ContentType, body: unknown): Buffer {
  return signEncodedBody(signer, contentType, encodeCanonical(body));
}

/** Signs a body already encoded as deterministic CBOR (the caller's to guarantee). */
export function signEncodedBody(signer: Ed25519Signer, contentType: ContentType, bodyBytes: Buffer): Buffer {
  return signBodyParts(signer, contentType, [bodyBytes]);
}

/** The protected header of an envelope signed with `kid`. */
export function envelopeProtectedHeader(kid: string): Buffer {
  return protectedHeader(CONTENT_TYPES.envelope, kid);
}

/** Signs a body given as consecutive parts of deterministic CBOR (the caller's to guarantee), copied once. */
export function signBodyParts(
  signer: Ed25519Signer,
  contentType: ContentType,
  bodyParts: readonly Uint8Array[],
): Buffer {
  return signedSign1(protectedHeader(contentType, signer.kid), bodyParts, (tbs) => signer.sign(tbs));
}

/** The unprotected header parameters an envelope of version 1.2 may carry (EXCHANGE.md §3). */
export const PER_COPY_HEADERS = ['sentAt', 'attempt'] as const;

const OUTER_LIMITS: CborLimits = {
  // tag 18 → array → the unprotected map (empty, or an envelope's two per-copy fields)
  maxDepth: 3,
  maxArrayLength: 4,
  maxMapSize: PER_COPY_HEADERS.length,
  maxTextBytes: Math.max(...PER_COPY_HEADERS.map((k) => k.length)),
  allowedTags: [COSE_SIGN1_TAG],
};

/**
 * Parses the COSE_Sign1 layer of a message of the expected content type, checking the
 * structure only (the caller verifies the signature against its trust store). Hostile
 * input ends in E_SYNC_MALFORMED, never in another exception.
 */
export function openMessage(bytes: Uint8Array, expected: ContentType): SignedMessage {
  const what = expected.replace(/^application\/|\+cbor$/g, '');
  const signed = openSigned(bytes, what);
  if (signed.contentType !== expected) malformed(what, `content type must be "${expected}"`);
  // Only an envelope has per-copy fields; on an envelope topic a message of another content
  // type is answered content_type_mismatch (§5.3 step 3), so openSigned lets it through.
  if (signed.unprotected.size > 0 && expected !== CONTENT_TYPES.envelope) {
    malformed(what, `unprotected header must be empty for ${expected}`);
  }
  return signed;
}

/**
 * The COSE_Sign1 layer whatever its content type (a text string in the protected header):
 * the exchange answers an envelope topic's message of the wrong content type with
 * `content_type_mismatch` (EXCHANGE.md §5.3) instead of dropping it, so it must read it.
 */
export function openSigned(bytes: Uint8Array, what: string): SignedMessage {
  if (bytes.byteLength > MAX_MESSAGE_BYTES)
    malformed(what, `${bytes.byteLength} bytes exceed ${MAX_MESSAGE_BYTES}`);
  const outer = decode(bytes, OUTER_LIMITS, what);
  if (!(outer instanceof Tag) || outer.tag !== COSE_SIGN1_TAG)
    malformed(what, 'not a tagged COSE_Sign1 (tag 18)');
  const parts = outer.value;
  if (!Array.isArray(parts) || parts.length !== 4) malformed(what, 'COSE_Sign1 must be an array of 4');
  const [protectedBytes, unprotected, bodyBytes, signature] = parts as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) malformed(what, 'protected header must be a byte string');
  if (!(unprotected instanceof Map)) malformed(what, 'unprotected header must be a map');
  for (const key of unprotected.keys()) {
    if (!(PER_COPY_HEADERS as readonly unknown[]).includes(key)) {
      malformed(what, `unprotected header parameter ${String(key)} is not understood`);
    }
  }
  if (!(bodyBytes instanceof Uint8Array)) malformed(what, 'payload must be a byte string');
  if (!(signature instanceof Uint8Array) || signature.byteLength !== 64)
    malformed(what, 'signature must be 64 bytes');
  const header = decode(
    protectedBytes,
    { maxDepth: 1, maxMapSize: 8, maxTextBytes: 64, maxByteStringBytes: 64 },
    what,
  );
  if (!(header instanceof Map)) malformed(what, 'protected header is not a map');
  for (const key of header.keys()) {
    if (key !== HEADER_ALG && key !== HEADER_CONTENT_TYPE && key !== HEADER_KID) {
      malformed(what, `protected header parameter ${String(key)} is not understood`);
    }
  }
  if (header.get(HEADER_ALG) !== COSE_ALG_EDDSA) malformed(what, 'alg must be EdDSA (-8)');
  const contentType = header.get(HEADER_CONTENT_TYPE);
  if (typeof contentType !== 'string') malformed(what, 'content type (3) must be a text string');
  const kidBytes = header.get(HEADER_KID);
  if (!(kidBytes instanceof Uint8Array)) malformed(what, 'kid (4) must be a byte string');
  const kid = Buffer.from(kidBytes).toString('utf8');
  if (!KID_PATTERN.test(kid)) malformed(what, 'kid is not a valid key id');
  return {
    contentType,
    kid,
    protectedBytes,
    bodyBytes,
    signature,
    unprotected: unprotected as Map<string, unknown>,
  };
}

/** Decodes a message body (deterministic CBOR within limits). */
export function decodeBody(message: SignedMessage, limits: CborLimits, what?: string): unknown {
  return decode(
    message.bodyBytes,
    limits,
    what ?? message.contentType.replace(/^application\/|\+cbor$/g, ''),
  );
}

function decode(bytes: Uint8Array, limits: CborLimits, what: string): unknown {
  try {
    return decodeDeterministic(bytes, limits, {
      malformed: 'E_SYNC_MALFORMED',
      nonCanonical: 'E_SYNC_MALFORMED',
      limit: 'E_SYNC_MALFORMED',
    });
  } catch (err) {
    if (isCtopError(err, 'E_SYNC_MALFORMED'))
      throw new CtopError('E_SYNC_MALFORMED', `${what}: ${err.message}`);
    // cbor-x after a successful structural scan: still hostile input, still one code.
    throw new CtopError('E_SYNC_MALFORMED', `${what}: ${(err as Error).message}`, { cause: err });
  }
}
