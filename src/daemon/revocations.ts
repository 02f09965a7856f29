import type { TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';

/**
 * Flags stored manifests created at or after their signer's revocation that still say
 * valid (the revocation arrived after them); each gets an alert queued for the exchange.
 * Idempotent: what is flagged already is not found again. Returns how many were flagged.
 */
export function applyRevocations(
  trust: TrustStore,
  store: Store,
  gatewayId: string,
  now: number,
  log: Logger,
): number {
  const signers = trust
    .list()
    .filter((k) => k.role === 'signer' && k.revokedAt !== undefined)
    .map((k) => ({
      kid: k.kid,
      revokedAt: k.revokedAt!,
      ...(k.revocationReason === undefined ? {} : { reason: k.revocationReason }),
    }));
  if (signers.length === 0) return 0;
  const flagged = store.revocations.apply(signers, gatewayId, now);
  for (const f of flagged) {
    log.warn(
      {
        alert: 'revoked',
        alertId: f.alertId,
        manifestId: f.manifestId,
        lockId: f.lockId,
        signerKid: f.signerKid,
        createdAt: new Date(f.createdAt).toISOString(),
      },
      `stored manifest ${f.manifestId.slice(0, 16)}… flagged revoked: its signer ${f.signerKid} was revoked before it was created`,
    );
  }
  log.info(
    { revokedSigners: signers.map((s) => s.kid), flagged: flagged.length },
    'stored manifests checked against revocations',
  );
  return flagged.length;
}
