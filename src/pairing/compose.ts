import { createHmac } from 'node:crypto';
import { encodeCanonical } from '../cbor/index.js';
import type { PrivateKey, RandomSource } from '../keys/index.js';
import {
  composeManifest,
  encodeDraft,
  type ManifestIssue,
  type RecipientKey,
  readGoodsFile,
  sealManifest,
} from '../manifest/index.js';

export interface ComposedForPairing {
  /** The signed manifest bytes. */
  bytes: Uint8Array;
  warnings: ManifestIssue[];
  source: string;
}

/**
 * `pair --goods`: composes, encrypts and signs the manifest at the loading track. The
 * encryption's randomness (content key, nonces, ephemeral keys) is derived from the
 * signer's secret and everything that goes into the manifest, so the same goods file,
 * signer and recipients always give the same bytes: an interrupted `pair --goods`, run
 * again, resumes the pairing of that very manifest instead of writing a new one over it.
 * Distinct inputs give unrelated streams; nobody without the signer key can predict them.
 */
export function composeForPairing(
  goodsFile: string,
  signer: PrivateKey,
  recipients: readonly RecipientKey[],
): ComposedForPairing {
  const parsed = readGoodsFile(goodsFile);
  const { manifest, warnings } = composeManifest(parsed.input, {
    locate: parsed.locate,
    source: parsed.source,
  });
  const context = encodeCanonical({
    purpose: 'ctop-agent pair --goods 1',
    manifest: encodeDraft(manifest),
    recipients: recipients.map((r) => [r.kid, r.publicKey]),
    signer: signer.kid,
  });
  const bytes = sealManifest(manifest, {
    signer,
    recipients,
    random: derivedRandom(signer.secretKey, context),
  });
  return { bytes, warnings, source: parsed.source };
}

/** HMAC-SHA256(key, context ‖ counter) blocks, as many as asked for. */
function derivedRandom(key: Uint8Array, context: Uint8Array): RandomSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.byteLength < n) {
      const block = createHmac('sha256', key).update(context).update(String(counter++)).digest();
      pool = Buffer.concat([pool, block]);
    }
    const out = Uint8Array.from(pool.subarray(0, n));
    pool = pool.subarray(n);
    return out;
  };
}
