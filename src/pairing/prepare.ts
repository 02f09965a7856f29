import { CtopError } from '../errors.js';
import type { TrustStore } from '../keys/index.js';
import { sha256 } from '../lock/identity.js';
import { normaliseContainerNumber } from '../manifest/identifiers/container.js';
import { inspectManifest, type ManifestLimits, type RoutingSummary } from '../manifest/index.js';

export interface PairingManifest {
  /** The signed manifest exactly as it will sit in the lock. */
  bytes: Uint8Array;
  /** SHA-256 of the bytes: what COMMIT names and the store's manifest id (hex). */
  sha256: Buffer;
  manifestId: string;
  routing: RoutingSummary;
}

export interface PrepareOptions {
  manifest: Uint8Array;
  container: string;
  wagon: string;
  trust: TrustStore;
  limits?: Partial<ManifestLimits>;
}

/**
 * Checks a manifest before anything touches a lock: it must verify against the trust store
 * (a carrier never writes what a checkpoint would flag), and the container and wagon the
 * carrier names at the loading track must be the ones in its clear routing fields. The
 * lock id it names is checked against the lock itself once the link is up.
 */
export function preparePairing(options: PrepareOptions): PairingManifest {
  const inspection = inspectManifest(options.manifest, options.trust, {
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const v = inspection.verification;
  if (v.status !== 'valid' || !inspection.routing) {
    throw new CtopError(
      v.code ?? 'E_MANIFEST_MALFORMED',
      `the manifest is ${v.status}${v.detail ? `: ${v.detail}` : ''}; a lock is only written with a valid manifest`,
      { details: { status: v.status, manifestId: inspection.manifestId } },
    );
  }
  const routing = inspection.routing;
  const container = normaliseContainerNumber(options.container);
  const wagon = options.wagon.trim().toUpperCase();
  const mismatches: string[] = [];
  if (container !== routing.container) {
    mismatches.push(`container ${container} ≠ ${routing.container} in the manifest`);
  }
  if (wagon !== routing.wagon.toUpperCase())
    mismatches.push(`wagon ${wagon} ≠ ${routing.wagon} in the manifest`);
  if (mismatches.length > 0) {
    throw new CtopError('E_PAIRING_ROUTING', mismatches.join('; '), {
      details: { container, wagon, manifestContainer: routing.container, manifestWagon: routing.wagon },
    });
  }
  return {
    bytes: options.manifest,
    sha256: sha256(options.manifest),
    manifestId: inspection.manifestId,
    routing,
  };
}
