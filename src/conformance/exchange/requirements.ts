import type { RequirementLevel } from '../report.js';

/**
 * Every requirement of firmware-protocol/EXCHANGE.md v1.2 the exchange kit checks, in the
 * order it checks them. The id is stable (reports, tests and CI select by it); `needs`
 * names the option without which it cannot be checked (reported `skip`).
 */
export interface Requirement {
  id: string;
  section: string;
  level: RequirementLevel;
  text: string;
  needs?: 'signer-key' | 'restart' | 'stop-start';
}

const req = (
  id: string,
  section: string,
  level: RequirementLevel,
  text: string,
  needs?: Requirement['needs'],
): Requirement => ({ id, section, level, text, ...(needs ? { needs } : {}) });

export const EXCHANGE_REQUIREMENTS: readonly Requirement[] = [
  req(
    'accept.manifest',
    '§5.2',
    'MUST',
    'a manifest signed by a trusted customs signer is accepted, verification valid',
    'signer-key',
  ),
  req(
    'accept.manifest-evidence',
    '§5.2',
    'MUST',
    "a manifest the gateway flags (unknown signer) is accepted as evidence, with the exchange's own verification",
  ),
  req('accept.lock_events', '§4.3', 'MUST', 'well-formed lock events (topic event) are accepted'),
  req('accept.alert', '§4.3', 'MUST', 'a well-formed alert is accepted'),
  req('accept.outage', '§4.3', 'MUST', 'a well-formed outage report is accepted'),
  req('accept.pairing', '§4.3', 'MUST', 'a well-formed pairing record is accepted'),
  req(
    'receipt.verifies',
    '§5.1',
    'MUST',
    "every receipt on the gateway's topic is signed by a trusted exchange key valid at reception and addressed to the gateway",
  ),
  req('receipt.echo', '§5', 'MUST', 'results echo the declared messageId, conversationId and payloadSha256'),
  req(
    'receipt.envelope-sha256',
    '§5',
    'MUST',
    'every result carries the envelopeSha256 of the copy it answers (v1.1)',
  ),
  req(
    'resend.same-receipt',
    '§8 exchange 2',
    'MUST',
    'a resend (same messageId, new sentAt and attempt) is accepted, duplicate: true, with the first receivedAt',
  ),
  req(
    'accept.v1.2',
    '§3, §4 (v1.2)',
    'MUST',
    'an envelope of version 1.2 (sentAt and attempt in the unprotected header, not in the signed body) is accepted',
  ),
  req(
    'resend.v1.2',
    '§3, §8 exchange 2 (v1.2)',
    'MUST',
    'a resend of it — the same body and signature, new sentAt and attempt — is a duplicate with the first receivedAt',
  ),
  req('resend.one-record', '§8 exchange 1', 'MUST', 'resends leave exactly one record'),
  req('resend.counted', '§6', 'SHOULD', 'the record counts the further copies received (duplicates)'),
  req('reject.unknown_key', '§5.3 step 2', 'MUST', 'a key the exchange does not know: rejected unknown_key'),
  req(
    'reject.bad_signature',
    '§5.3 step 2',
    'MUST',
    'a signature that does not verify: rejected bad_signature',
  ),
  req(
    'reject.content_type_mismatch',
    '§5.3 step 3',
    'MUST',
    'an envelope body under another content type: rejected content_type_mismatch',
  ),
  req(
    'reject.envelope_malformed',
    '§5.3 step 4',
    'MUST',
    'an envelope field not as §4 (attempt 0): rejected envelope_malformed',
  ),
  req(
    'reject.per-copy-twice',
    '§3, §5.3 step 4 (v1.2)',
    'MUST',
    'sentAt and attempt both in the signed body and in the unprotected header: rejected envelope_malformed',
  ),
  req(
    'reject.address_mismatch',
    '§5.3 step 5',
    'MUST',
    'addressed to another exchange: rejected address_mismatch',
  ),
  req('reject.kind_mismatch', '§5.3 step 6', 'MUST', 'an alert on the pairing topic: rejected kind_mismatch'),
  req(
    'reject.action_mismatch',
    '§2.2, §5.3 step 6',
    'MUST',
    'a pairing record with the alert action: rejected kind_mismatch',
  ),
  req(
    'reject.payload_hash_mismatch',
    '§5.3 step 7',
    'MUST',
    "payloadSha256 not the payload's: rejected payload_hash_mismatch",
  ),
  req(
    'reject.declared-hash',
    '§5',
    'MUST',
    'that rejection echoes the declared payloadSha256, not the computed one',
  ),
  req(
    'reject.message_id_mismatch',
    '§5.3 step 7',
    'MUST',
    'a messageId not derived from the content: rejected message_id_mismatch',
  ),
  req(
    'reject.payload_malformed',
    '§5.3 step 9',
    'MUST',
    'a payload that is not deterministic CBOR: rejected payload_malformed',
  ),
  req(
    'reject.payload_cddl',
    '§4.3, §5.3 step 9',
    'MUST',
    'a pairing record missing a field of its CDDL: rejected payload_malformed',
  ),
  req(
    'reject.outage_gateway',
    '§4.3',
    'MUST',
    'an outage report naming another gateway: rejected payload_malformed',
  ),
  req(
    'reject.manifest_unknown_signer',
    '§5.2',
    'MUST',
    'a manifest by an unknown signer the gateway calls valid: rejected manifest_unknown_signer',
  ),
  req(
    'reject.manifest_bad_signature',
    '§5.2',
    'MUST',
    "a trusted signer's manifest altered, called valid: rejected manifest_bad_signature",
    'signer-key',
  ),
  req(
    'reject.not-recorded',
    '§5.2',
    'MUST',
    'a rejected message is not recorded (by document finds none of them)',
  ),
  req(
    'drop.oversize',
    '§5.3 step 1, §10',
    'MUST',
    'a message over 1 MiB is dropped unanswered, and the exchange goes on answering',
  ),
  req(
    'drop.unreadable',
    '§5.3 step 1',
    'MUST',
    'bytes that are not a COSE_Sign1 are dropped unanswered, and the exchange goes on answering',
  ),
  req(
    'drop.too-deep',
    '§5.3 step 1, §10',
    'MUST',
    'an envelope of depth 3 (a map in routing) is dropped unanswered',
  ),
  req(
    'drop.unprotected-unknown',
    '§3, §5.3 step 1 (v1.2)',
    'MUST',
    'an unprotected header parameter other than sentAt and attempt: dropped unanswered',
  ),
  req(
    'query.document-message',
    '§6',
    'MUST',
    "by document (messageId): exactly the record, with the receipt's receivedAt",
  ),
  req(
    'query.document-container',
    '§6',
    'MUST',
    'by document (container): the pairing record of that container',
  ),
  req('query.document-manifest', '§6', 'MUST', 'by document (manifestId): the manifest', 'signer-key'),
  req(
    'query.updates',
    '§6',
    'MUST',
    "updates for a period: every message of the gateway accepted in it, in seq order, no other gateway's",
  ),
  req(
    'query.paging',
    '§6',
    'MUST',
    'updates with limit: next given while more follow, after: next continues',
  ),
  req('query.metadata-only', '§6', 'MUST', 'answers carry no payload'),
  req('query.refused', '§6', 'MUST', 'a question signed by an unknown key: refused unknown_key'),
  req(
    'restart.durable',
    '§8 exchange 1',
    'MUST',
    'every message a receipt accepted before a hard stop is recorded after the restart',
    'restart',
  ),
  req(
    'restart.duplicate',
    '§8 exchange 2',
    'MUST',
    'after the restart a resend of those is answered duplicate with the first receivedAt',
    'restart',
  ),
  req(
    'restart.complete',
    '§8',
    'MUST',
    'after the restart every message of the burst is answered and recorded once',
    'restart',
  ),
  req(
    'restart.session',
    '§2.1, §2.6',
    'MUST',
    'a message published while the exchange is stopped is answered once it is back, unsent again',
    'stop-start',
  ),
];

export function requirement(id: string): Requirement {
  const found = EXCHANGE_REQUIREMENTS.find((r) => r.id === id);
  if (!found) throw new Error(`no exchange requirement ${id}`);
  return found;
}
