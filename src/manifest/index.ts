/**
 * The manifest: the customs information a lock carries (firmware-protocol/MANIFEST.md).
 *
 * Issuing side (customs office, CLI, fixtures, carrier pairing):
 * - `readGoodsFile(file)` / `parseGoodsFile(text, 'json'|'csv')` → input + line locator
 * - `composeManifest(input, { locate, source })` → `{ manifest, warnings }`; throws a
 *   CtopError listing every problem with path and line, coded by the first problem
 * - `encryptFor(manifest, recipients)` → payload; `signManifest(payload, signerKey)` →
 *   COSE_Sign1 bytes; `sealManifest(manifest, { signer, recipients })` does both
 *
 * Gateway side (lock reader, store, sync, officer view):
 * - `inspectManifest(bytes, trustStore, { limits })` never throws for bad input; returns
 *   `{ manifestId, size, verification: { status, signerKid?, detail?, code? }, routing }`
 *   where status is valid | unknown_signer | bad_signature | expired | revoked | malformed
 *   and routing (clear fields, untrusted unless status is valid) is undefined when the
 *   payload cannot be decoded
 * - `openManifest(bytes, recipientKey, trustStore)` → `{ manifestId, routing, body }`
 *   for a valid manifest; throws typed errors otherwise
 */
export { type ComposedManifest, type ComposeOptions, composeManifest, INPUT_KEYS } from './compose.js';
export {
  COSE_ALG_EDDSA,
  COSE_SIGN1_TAG,
  type CoseSign1,
  decodeSign1,
  MANIFEST_CONTENT_TYPE,
  sigStructure,
} from './cose.js';
export {
  formatFromName,
  type GoodsFileFormat,
  type ParsedGoodsFile,
  parseGoodsFile,
  readGoodsFile,
} from './input.js';
export {
  type InspectOptions,
  inspectManifest,
  type ManifestInspection,
  type ManifestVerification,
  type RoutingSummary,
  STATUS_CODES,
} from './inspect.js';
export { formatIssue, type ManifestIssue } from './issues.js';
export { DEFAULT_LIMITS, type ManifestLimits, resolveLimits } from './limits.js';
export { type OpenedManifest, openManifest } from './open.js';
export { decodeBody, decodeDraft, decodePayload, encodeBody, encodeDraft, encodePayload } from './payload.js';
export { renderBody, renderInspection } from './render.js';
export { type RecipientKey, sealBody } from './seal.js';
export { encryptFor, type SealOptions, sealManifest, signManifest } from './sign.js';
export type {
  GoodsBody,
  GoodsLine,
  Manifest,
  ManifestDraft,
  ManifestPayload,
  ManifestRouting,
  Party,
  SealedBody,
  TransportDocument,
  WrappedKey,
} from './types.js';
export { MANIFEST_VERSION, SEALED_ALG } from './types.js';
