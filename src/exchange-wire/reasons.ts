/**
 * The reason codes of rejected results (EXCHANGE.md §5.2), in the order of the checks of
 * §5.3 that produce them. *Authenticated* reasons are decided after the envelope's
 * signature verified under a key of the topic's gateway, so the values a result echoes are
 * that gateway's own; the others could have been provoked by anyone able to publish on the
 * gateway's topic, and a gateway acts on them only for a copy it published itself (§5.1).
 */
export const REJECTION_REASONS = [
  'unknown_key',
  'bad_signature',
  'key_expired',
  'key_revoked',
  'key_mismatch',
  'content_type_mismatch',
  'envelope_malformed',
  'address_mismatch',
  'kind_mismatch',
  'payload_hash_mismatch',
  'message_id_mismatch',
  'payload_malformed',
  'manifest_unknown_signer',
  'manifest_bad_signature',
  'manifest_expired',
  'manifest_revoked',
  'manifest_malformed',
] as const;

export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** The reasons of §5.3 step 2: the key did not verify, nothing in the body is the gateway's word. */
export const UNAUTHENTICATED_REASONS: ReadonlySet<string> = new Set<RejectionReason>([
  'unknown_key',
  'bad_signature',
  'key_expired',
  'key_revoked',
  'key_mismatch',
]);

/** A reason known to be decided after the gateway's signature verified (unknown reasons are not). */
export function isAuthenticatedReason(reason: string): boolean {
  return (REJECTION_REASONS as readonly string[]).includes(reason) && !UNAUTHENTICATED_REASONS.has(reason);
}
