import { CtopError } from '../errors.js';
import {
  deriveMessageId,
  type Envelope,
  ID_CONTEXTS,
  KIND_ACTIONS,
  nameBasedUuid,
} from '../exchange-wire/index.js';
import type { OutboxEntry, OutboxRouting } from '../store/index.js';

export interface EnvelopeContext {
  /** The gateway's address. */
  from: string;
  /** The exchange's address. */
  to: string;
  /** The gateway's receipt topic. */
  replyTo: string;
}

/** What an envelope is made of: a stored row, or one being made (sealed in its transaction). */
export type EnvelopeSource = Pick<OutboxEntry, 'kind' | 'manifestId' | 'payloadSha256' | 'routing'> & {
  id?: number;
  messageId?: string;
  payload?: Uint8Array;
};

/** The MessageID of a row: the one recorded, else the one its content gives. */
export function messageIdOf(row: EnvelopeSource, from: string): string {
  return row.messageId ?? deriveMessageId(from, row.kind, row.payloadSha256);
}

const text = (routing: OutboxRouting, key: string): string | undefined => {
  const v = routing[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
};

/**
 * ConversationID: everything one lock read produced (its manifest, events and alerts share
 * the read's uid); an outage report is its own conversation.
 */
export function conversationIdOf(row: EnvelopeSource, from: string, messageId: string): string {
  const readUid = text(row.routing, 'readUid');
  if (readUid) return nameBasedUuid(ID_CONTEXTS.conversation, [from, 'read', readUid]);
  return nameBasedUuid(ID_CONTEXTS.conversation, [from, 'message', messageId]);
}

/**
 * ProcedureID: the consignment's journey, the same at every gateway that handles it — by
 * manifest id when the message concerns a manifest, else by lock, else the gateway's own
 * procedure (outage reports).
 */
export function procedureIdOf(row: EnvelopeSource, from: string): string {
  const manifestId = row.manifestId ?? text(row.routing, 'manifestId');
  if (manifestId) return nameBasedUuid(ID_CONTEXTS.procedure, ['manifest', manifestId]);
  const lockId = text(row.routing, 'lockId');
  if (lockId) return nameBasedUuid(ID_CONTEXTS.procedure, ['lock', lockId]);
  return nameBasedUuid(ID_CONTEXTS.procedure, ['gateway', from]);
}

/** Routing values as CBOR carries them: integers stay, any other number becomes text. */
function clearRouting(routing: OutboxRouting): Envelope['routing'] {
  const out: Envelope['routing'] = {};
  for (const [key, value] of Object.entries(routing)) {
    out[key] = typeof value === 'number' && !Number.isSafeInteger(value) ? String(value) : value;
  }
  return out;
}

/** The bytes a row carries; E_SYNC_ENVELOPE when retention purged them. */
export function payloadOf(row: EnvelopeSource): Uint8Array {
  if (!row.payload) {
    throw new CtopError(
      'E_SYNC_ENVELOPE',
      `outbox row ${row.id ?? '(new)'} has no payload (purged?) and cannot be sent`,
      {
        details: { outboxId: row.id },
      },
    );
  }
  return row.payload;
}

/** The envelope of one publish of a row. */
export function envelopeFor(
  row: EnvelopeSource,
  messageId: string,
  context: EnvelopeContext,
  sentAt: number,
  attempt: number,
): Envelope {
  const payload = payloadOf(row);
  return {
    messageId,
    conversationId: conversationIdOf(row, context.from, messageId),
    procedureId: procedureIdOf(row, context.from),
    action: KIND_ACTIONS[row.kind],
    kind: row.kind,
    from: context.from,
    to: context.to,
    replyTo: context.replyTo,
    sentAt,
    attempt: Math.max(1, attempt),
    payloadSha256: row.payloadSha256,
    payload,
    routing: clearRouting(row.routing),
  };
}
