import { CtopError } from '../errors.js';
import { type PrivateKey, type RandomSource, signDetached, systemRandom } from '../keys/index.js';
import { encodeProtectedHeader, encodeSign1, sigStructure } from './cose.js';
import { type ManifestLimits, resolveLimits } from './limits.js';
import { decodePayload, encodePayload } from './payload.js';
import { type RecipientKey, sealBody } from './seal.js';
import { MANIFEST_VERSION, type Manifest, type ManifestPayload } from './types.js';

/** Encrypts the goods body for the customs recipients; the routing stays in the clear. */
export function encryptFor(
  manifest: Manifest,
  recipients: readonly RecipientKey[],
  random: RandomSource = systemRandom,
): ManifestPayload {
  return {
    v: MANIFEST_VERSION,
    routing: manifest.routing,
    sealed: sealBody(manifest.body, recipients, random),
  };
}

/**
 * Signs a payload with a customs signer key: COSE_Sign1, EdDSA, kid in the protected
 * header. Payload bytes are decoded and validated first, so nothing but a well-formed,
 * encrypted manifest is ever signed. The result must fit `limits.maxBytes`, or no gateway
 * would accept it.
 */
export function signManifest(
  payload: ManifestPayload | Uint8Array,
  signer: PrivateKey,
  options: { limits?: Partial<ManifestLimits> } = {},
): Buffer {
  const limits = resolveLimits(options.limits);
  if (signer.role !== 'signer') {
    throw new CtopError(
      'E_KEY_ROLE',
      `key ${signer.kid} is a ${signer.role} key; manifests are signed with a customs signer key`,
    );
  }
  const payloadBytes = payload instanceof Uint8Array ? payload : encodePayload(payload);
  decodePayload(payloadBytes, limits, { forSigning: true });
  const protectedBytes = encodeProtectedHeader(signer.kid);
  const signature = signDetached(signer, sigStructure(protectedBytes, payloadBytes), 'signer');
  const cose = encodeSign1(protectedBytes, payloadBytes, signature);
  if (cose.byteLength > limits.maxBytes) {
    throw new CtopError(
      'E_MANIFEST_TOO_LARGE',
      `the signed manifest is ${cose.byteLength} bytes; gateways accept at most ${limits.maxBytes}. Split the consignment`,
      { details: { size: cose.byteLength, limit: limits.maxBytes } },
    );
  }
  return cose;
}

export interface SealOptions {
  signer: PrivateKey;
  recipients: readonly RecipientKey[];
  random?: RandomSource;
  limits?: Partial<ManifestLimits>;
}

/** encryptFor + signManifest: the bytes a carrier writes into a lock. */
export function sealManifest(manifest: Manifest, options: SealOptions): Buffer {
  const payload = encryptFor(manifest, options.recipients, options.random);
  return signManifest(
    payload,
    options.signer,
    options.limits === undefined ? {} : { limits: options.limits },
  );
}
