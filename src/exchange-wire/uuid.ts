import { hash, randomUUID } from 'node:crypto';
import type { MessageKind } from './message-kinds.js';

/**
 * Name-based identifiers (EXCHANGE.md §4). MessageID, ConversationID and ProcedureID are
 * `urn:uuid:` UUIDv8 values computed from SHA-256 as in RFC 9562 appendix B.2: the same
 * content always gives the same id, so a resend after any crash is recognisably the same
 * message and the exchange can check the id against what it received.
 */

export const URN_UUID_PATTERN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The namespaces of the three ids, so an id of one kind never equals one of another. */
export const ID_CONTEXTS = {
  message: 'ctop/v1 message',
  conversation: 'ctop/v1 conversation',
  procedure: 'ctop/v1 procedure',
} as const;

const ZERO = Buffer.of(0);

/**
 * UUIDv8 over SHA-256(context ‖ 0x00 ‖ part₁ ‖ 0x00 ‖ part₂ …): the first 16 bytes of the
 * digest with the version nibble set to 8 and the variant bits to 0b10.
 */
export function nameBasedUuid(context: string, parts: readonly (string | Uint8Array)[]): string {
  // One buffer and one-shot hashing: three ids per message sent, and a Hash object with an
  // update per part cost more than the digest itself.
  const chunks: Uint8Array[] = [Buffer.from(context, 'utf8')];
  for (const part of parts) chunks.push(ZERO, typeof part === 'string' ? Buffer.from(part, 'utf8') : part);
  const b = hash('sha256', Buffer.concat(chunks), 'buffer').subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The MessageID of what `from` sends as `kind` with this payload. The sender is part of it:
 * the same manifest sent by the loading yard and by the border checkpoint is two facts.
 */
export function deriveMessageId(from: string, kind: MessageKind, payloadSha256: Uint8Array): string {
  return nameBasedUuid(ID_CONTEXTS.message, [from, kind, payloadSha256]);
}

/** A fresh random id (queries: asking twice is two questions). */
export function randomUrnUuid(): string {
  return `urn:uuid:${randomUUID()}`;
}

export function isUrnUuid(value: unknown): value is string {
  return typeof value === 'string' && URN_UUID_PATTERN.test(value);
}
