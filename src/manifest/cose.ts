import { sign1Bytes, sigStructureBytes } from '../cbor/cose-frame.js';
import { decodeDeterministic, encodeCanonical, Tag } from '../cbor/index.js';
import { CtopError } from '../errors.js';
import { KID_PATTERN } from '../keys/index.js';
import { envelopeCborLimits, type ManifestLimits } from './limits.js';

/**
 * COSE_Sign1 (RFC 9052 §4.2), the one envelope a manifest travels in:
 *
 *   18([ protected: bstr .cbor { 1: -8, 3: "application/ctop-manifest+cbor", 4: kid },
 *        unprotected: {},  payload: bstr,  signature: bstr .size 64 ])
 *
 * alg -8 is EdDSA (Ed25519); the content type keeps a manifest signature from being
 * accepted as the signature of any other object the same customs key signs. Nothing is
 * allowed in the unprotected header: everything a gateway uses is signed.
 */
export const COSE_SIGN1_TAG = 18;
export const COSE_ALG_EDDSA = -8;
export const MANIFEST_CONTENT_TYPE = 'application/ctop-manifest+cbor';
const HEADER_ALG = 1;
const HEADER_CONTENT_TYPE = 3;
const HEADER_KID = 4;
const ED25519_SIGNATURE_BYTES = 64;

export interface CoseSign1 {
  /** The protected header exactly as serialised: the signature covers these bytes. */
  protectedBytes: Uint8Array;
  /** Key id of the issuing customs key, from the protected header. */
  kid: string;
  payload: Uint8Array;
  signature: Uint8Array;
}

export function encodeProtectedHeader(kid: string): Buffer {
  if (!KID_PATTERN.test(kid)) throw new CtopError('E_KEY_FORMAT', `kid "${kid}" is not a valid key id`);
  return encodeCanonical(
    new Map<number, unknown>([
      [HEADER_ALG, COSE_ALG_EDDSA],
      [HEADER_CONTENT_TYPE, MANIFEST_CONTENT_TYPE],
      [HEADER_KID, Buffer.from(kid, 'utf8')],
    ]),
  );
}

/** The bytes an Ed25519 signature covers: Sig_structure (RFC 9052 §4.4), empty external_aad. */
/** `["Signature1", protected, h'', payload]` as deterministic CBOR, written directly (a 9 KB manifest is copied once). */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  return sigStructureBytes(protectedBytes, payload);
}

export function encodeSign1(protectedBytes: Uint8Array, payload: Uint8Array, signature: Uint8Array): Buffer {
  return sign1Bytes(protectedBytes, payload, signature);
}

function malformed(why: string): never {
  throw new CtopError('E_MANIFEST_MALFORMED', `COSE_Sign1: ${why}`);
}

function decodeProtectedHeader(bytes: Uint8Array): string {
  const header = decodeDeterministic(bytes, {
    maxDepth: 1,
    maxMapSize: 8,
    maxTextBytes: 128,
    maxByteStringBytes: 64,
  });
  if (!(header instanceof Map)) malformed('protected header is not a map');
  for (const key of header.keys()) {
    if (key !== HEADER_ALG && key !== HEADER_CONTENT_TYPE && key !== HEADER_KID) {
      malformed(`protected header parameter ${String(key)} is not understood`);
    }
  }
  if (header.get(HEADER_ALG) !== COSE_ALG_EDDSA)
    malformed(`alg must be EdDSA (-8), not ${String(header.get(HEADER_ALG))}`);
  if (header.get(HEADER_CONTENT_TYPE) !== MANIFEST_CONTENT_TYPE)
    malformed(`content type must be "${MANIFEST_CONTENT_TYPE}"`);
  const kid = header.get(HEADER_KID);
  if (!(kid instanceof Uint8Array)) malformed('kid (4) must be a byte string');
  const text = Buffer.from(kid).toString('utf8');
  if (!KID_PATTERN.test(text)) malformed('kid is not a valid key id');
  return text;
}

/** Parses a COSE_Sign1 manifest envelope; throws E_MANIFEST_* for anything else. */
export function decodeSign1(bytes: Uint8Array, limits: ManifestLimits): CoseSign1 {
  const decoded = decodeDeterministic(bytes, envelopeCborLimits(limits));
  if (!(decoded instanceof Tag) || decoded.tag !== COSE_SIGN1_TAG)
    malformed('not a tagged COSE_Sign1 (tag 18)');
  const parts = decoded.value;
  if (!Array.isArray(parts) || parts.length !== 4) malformed('must be an array of 4 elements');
  const [protectedBytes, unprotected, payload, signature] = parts as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) malformed('protected header must be a byte string');
  if (!(unprotected instanceof Map) || unprotected.size !== 0)
    malformed('the unprotected header must be an empty map');
  if (!(payload instanceof Uint8Array))
    malformed('payload must be a byte string (detached payloads are not used)');
  if (!(signature instanceof Uint8Array) || signature.byteLength !== ED25519_SIGNATURE_BYTES) {
    malformed('signature must be 64 bytes');
  }
  return { protectedBytes, kid: decodeProtectedHeader(protectedBytes), payload, signature };
}
