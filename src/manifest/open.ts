import { CtopError } from '../errors.js';
import type { PrivateKey, TrustStore } from '../keys/index.js';
import { type InspectOptions, inspectManifestDetailed, type RoutingSummary } from './inspect.js';
import { resolveLimits } from './limits.js';
import { decodeBody } from './payload.js';
import { openSealedBody } from './seal.js';
import type { GoodsBody } from './types.js';

export interface OpenedManifest {
  manifestId: string;
  routing: RoutingSummary;
  body: GoodsBody;
}

/**
 * Verifies and decrypts a manifest for an authorised officer. Throws a CtopError whose
 * code names the failure: the verification status (E_MANIFEST_BAD_SIGNATURE, …), a key
 * that is not a recipient (E_MANIFEST_NOT_RECIPIENT), a body that does not decrypt
 * (E_MANIFEST_DECRYPT), or a decrypted body that breaks the schema. Only a `valid`
 * manifest is ever decrypted: unverified bytes are evidence, not data.
 */
export function openManifest(
  bytes: Uint8Array,
  recipientKey: PrivateKey,
  trustStore: TrustStore,
  options: InspectOptions = {},
): OpenedManifest {
  const limits = resolveLimits(options.limits);
  const inspected = inspectManifestDetailed(bytes, trustStore, options);
  const { verification } = inspected;
  if (verification.status !== 'valid' || !inspected.payload || !inspected.routing) {
    throw new CtopError(
      verification.code ?? 'E_MANIFEST_MALFORMED',
      `manifest ${inspected.manifestId.slice(0, 16)}… is ${verification.status}: ${verification.detail}`,
      {
        details: { manifestId: inspected.manifestId, status: verification.status },
      },
    );
  }
  const plaintext = openSealedBody(inspected.payload.sealed, recipientKey);
  try {
    return {
      manifestId: inspected.manifestId,
      routing: inspected.routing,
      body: decodeBody(plaintext, limits),
    };
  } finally {
    plaintext.fill(0);
  }
}
