import { createHash } from 'node:crypto';
import { type ErrorCode, isCtopError } from '../errors.js';
import type { TrustStore, VerificationStatus } from '../keys/index.js';
import { decodeSign1, sigStructure } from './cose.js';
import { type ManifestLimits, resolveLimits } from './limits.js';
import { decodePayload } from './payload.js';
import type { ManifestPayload, ManifestRouting } from './types.js';

/** What a gateway indexes and syncs without decrypting (DESIGN.md §4). */
export interface RoutingSummary extends ManifestRouting {
  /** Key id of the issuing customs signer key (COSE protected header). */
  signerKid: string;
  /** Key ids of the customs recipients the body is encrypted for. */
  recipients: string[];
}

export interface ManifestVerification {
  /** Only `valid` is valid data; every other status is kept as evidence and flagged. */
  status: VerificationStatus;
  signerKid?: string;
  /** Why the status is not `valid`, for the operator. */
  detail?: string;
  /** The error code that `openManifest` would throw for this status. */
  code?: ErrorCode;
}

export interface ManifestInspection {
  /** SHA-256 (hex) of the bytes exactly as given: the id under which they are stored and synced. */
  manifestId: string;
  size: number;
  verification: ManifestVerification;
  /**
   * The clear routing fields when the payload could be decoded, whatever the status — a
   * tampered manifest is still indexed as evidence. Trust them only when status is `valid`.
   */
  routing: RoutingSummary | undefined;
}

export interface InspectOptions {
  /** Unused by the checks today; reserved so callers pass their clock from the start. */
  now?: number;
  limits?: Partial<ManifestLimits>;
  /**
   * SHA-256 of `bytes` when the caller has just checked it (the exchange: the envelope's
   * payloadSha256 against the payload): the manifest id without hashing the bytes again.
   */
  sha256?: Uint8Array;
}

export const STATUS_CODES: Readonly<Record<Exclude<VerificationStatus, 'valid'>, ErrorCode>> = {
  malformed: 'E_MANIFEST_MALFORMED',
  unknown_signer: 'E_MANIFEST_UNKNOWN_SIGNER',
  bad_signature: 'E_MANIFEST_BAD_SIGNATURE',
  expired: 'E_MANIFEST_EXPIRED',
  revoked: 'E_MANIFEST_REVOKED',
};

function fail(
  status: Exclude<VerificationStatus, 'valid'>,
  detail: string,
  signerKid?: string,
  code?: ErrorCode,
): ManifestVerification {
  return {
    status,
    detail,
    code: code ?? STATUS_CODES[status],
    ...(signerKid === undefined ? {} : { signerKid }),
  };
}

function describe(err: unknown): { detail: string; code?: ErrorCode } {
  if (isCtopError(err)) return { detail: err.message, code: err.code };
  return { detail: `unexpected error: ${(err as Error)?.message ?? String(err)}` };
}

/** Internal: the inspection plus the decoded payload, for `openManifest`. */
export interface InspectedManifest extends ManifestInspection {
  payload: ManifestPayload | undefined;
}

/**
 * Checks a manifest as read from a lock, without decrypting. Never throws for bad input:
 * every outcome is a status. Order: size and structure (malformed), signer key
 * (unknown_signer), signature over the exact bytes (bad_signature), payload schema
 * (malformed), then revocation and validity window at the manifest's signed createdAt.
 */
export function inspectManifestDetailed(
  bytes: Uint8Array,
  trustStore: TrustStore,
  options: InspectOptions = {},
): InspectedManifest {
  const limits = resolveLimits(options.limits);
  const manifestId =
    options.sha256?.byteLength === 32
      ? Buffer.from(options.sha256.buffer, options.sha256.byteOffset, 32).toString('hex')
      : createHash('sha256').update(bytes).digest('hex');
  const base = { manifestId, size: bytes.byteLength };
  if (bytes.byteLength > limits.maxBytes) {
    const detail = `${bytes.byteLength} bytes exceeds the limit of ${limits.maxBytes}`;
    return {
      ...base,
      verification: fail('malformed', detail, undefined, 'E_MANIFEST_TOO_LARGE'),
      routing: undefined,
      payload: undefined,
    };
  }
  let cose: ReturnType<typeof decodeSign1>;
  try {
    cose = decodeSign1(bytes, limits);
  } catch (err) {
    const { detail, code } = describe(err);
    return {
      ...base,
      verification: fail('malformed', detail, undefined, code),
      routing: undefined,
      payload: undefined,
    };
  }
  const signerKid = cose.kid;
  let payload: ManifestPayload | undefined;
  let payloadError: { detail: string; code?: ErrorCode } | undefined;
  try {
    payload = decodePayload(cose.payload, limits);
  } catch (err) {
    payloadError = describe(err);
  }
  const routing: RoutingSummary | undefined = payload && {
    ...payload.routing,
    signerKid,
    recipients: payload.sealed.recipients.map((r) => r.kid),
  };
  const result = (verification: ManifestVerification): InspectedManifest => ({
    ...base,
    verification,
    routing,
    payload,
  });

  const signature = trustStore.checkSignature(
    signerKid,
    'signer',
    sigStructure(cose.protectedBytes, cose.payload),
    cose.signature,
  );
  if (signature.status !== 'valid' || !signature.key) {
    return result(
      fail(
        signature.status as Exclude<VerificationStatus, 'valid'>,
        signature.detail ?? signature.status,
        signerKid,
      ),
    );
  }
  if (!payload) {
    return result(
      fail(
        'malformed',
        `signed by ${signerKid}, but the payload is invalid: ${payloadError?.detail}`,
        signerKid,
        payloadError?.code,
      ),
    );
  }
  const validity = trustStore.checkValidity(signature.key, payload.routing.createdAt);
  if (validity.status !== 'valid') {
    return result(
      fail(
        validity.status as Exclude<VerificationStatus, 'valid'>,
        validity.detail ?? validity.status,
        signerKid,
      ),
    );
  }
  return result({ status: 'valid', signerKid });
}

/** The public form of `inspectManifestDetailed`: status and routing, no decoded payload. */
export function inspectManifest(
  bytes: Uint8Array,
  trustStore: TrustStore,
  options: InspectOptions = {},
): ManifestInspection {
  const { payload: _payload, ...inspection } = inspectManifestDetailed(bytes, trustStore, options);
  return inspection;
}
