import { CtopError, type ErrorCode } from '../errors.js';
import type { TrustStore } from '../keys/index.js';
import type { LockReadResult } from '../lock/reader.js';
import { inspectManifest, STATUS_CODES } from '../manifest/index.js';

/**
 * What one `ctop-agent read` proved, said exactly (issue 18): whether the lock's identity
 * key was checked against a pinned one or only proven on first use, and whether the
 * manifest's signature was checked against a trust store — "verified" is never said for
 * something that was not.
 */
export interface ReadProof {
  identity: 'pinned' | 'first use, not pinned' | 'not proven';
  /** `not checked` without --trust; else the trust store's verdict on the COSE signature. */
  manifestSignature:
    | 'not checked'
    | 'valid'
    | 'bad_signature'
    | 'unknown_signer'
    | 'expired'
    | 'revoked'
    | 'malformed';
  signerKid?: string;
  /** Why the signature is not valid, when checked, and its error code. */
  signatureDetail?: string;
  code?: ErrorCode;
}

export function proofOf(result: LockReadResult, trust: TrustStore | undefined): ReadProof {
  const identity = !result.auth ? 'not proven' : result.pinned ? 'pinned' : 'first use, not pinned';
  if (!trust || !result.manifest) return { identity, manifestSignature: 'not checked' };
  const { verification } = inspectManifest(result.manifest, trust);
  return {
    identity,
    manifestSignature: verification.status,
    ...(verification.signerKid ? { signerKid: verification.signerKid } : {}),
    ...(verification.detail ? { signatureDetail: verification.detail } : {}),
    ...(verification.code ? { code: verification.code } : {}),
  };
}

/** The proof as the lines `read` prints. */
export function describeProof(proof: ReadProof, manifestRead: boolean): string[] {
  const identity = {
    pinned: 'identity    pinned key, proven by AUTH',
    'first use, not pinned':
      'identity    first use, not pinned: the lock proved it holds this key, not that the key is its provisioned one',
    'not proven': 'identity    not proven (the read ended before AUTH)',
  }[proof.identity];
  if (!manifestRead) return [identity];
  const signature =
    proof.manifestSignature === 'not checked'
      ? 'signature   manifest signature not checked (give --trust <file> to check it)'
      : proof.manifestSignature === 'valid'
        ? `signature   valid, signed by ${proof.signerKid}`
        : `signature   ${proof.manifestSignature.toUpperCase()}${proof.signerKid ? ` (signer ${proof.signerKid})` : ''}: ${proof.signatureDetail ?? ''}`;
  return [identity, signature];
}

/** The error a checked signature that is not valid ends the command with (its category picks the exit code). */
export function signatureFailure(proof: ReadProof): CtopError | undefined {
  const status = proof.manifestSignature;
  if (status === 'not checked' || status === 'valid') return undefined;
  return new CtopError(
    proof.code ?? STATUS_CODES[status],
    `manifest ${status}${proof.signatureDetail ? `: ${proof.signatureDetail}` : ''}`,
    {
      details: { signerKid: proof.signerKid },
    },
  );
}
