import { emptyObjectArray } from '../empty-object-array.js';
import { CtopError } from '../errors.js';
import type { TrustStore } from '../keys/index.js';
import { ADDRESS_PATTERN } from './address.js';
import { type Ed25519Signer, verifySigned } from './ed25519.js';
import { FieldReader } from './fields.js';
import {
  CONTENT_TYPES,
  decodeBody,
  openMessage,
  type SignedMessage,
  signMessage,
  toBeSigned,
} from './signed.js';
import { URN_UUID_PATTERN } from './uuid.js';

/**
 * The exchange's processing-result notification (EEC decision No. 124: every message gets
 * one), signed with the exchange key (EXCHANGE.md §5). One receipt answers one or more
 * messages of one gateway; each result stands for itself and names the content it
 * answers by its SHA-256, so a receipt can never settle a different message.
 */
export interface ReceiptResult {
  messageId: string;
  conversationId: string;
  /** The envelope's `payloadSha256` exactly as declared (never a hash the exchange computed). */
  payloadSha256: Uint8Array;
  /**
   * SHA-256 of the copy answered: its COSE_Sign1 bytes as the exchange received them
   * (EXCHANGE.md §5, v1.1). Lets a gateway tell its own copy from one a third party made;
   * absent from version 1 exchanges.
   */
  envelopeSha256?: Uint8Array;
  status: 'accepted' | 'rejected';
  /** Reason code of a rejection (EXCHANGE.md §5.2); required when rejected. */
  reason?: string;
  /** One line for the operator. */
  detail?: string;
  /** When the exchange first received the message, ms. */
  receivedAt: number;
  /** The exchange had this messageId already: a resend, recorded once. */
  duplicate: boolean;
  /** Manifests: the exchange's own verification of the customs signature. */
  verification?: string;
}

export interface Receipt {
  action: typeof RECEIPT_ACTION;
  /** The exchange's address. */
  from: string;
  /** The gateway's address. */
  to: string;
  issuedAt: number;
  results: ReceiptResult[];
}

export const RECEIPT_ACTION = 'ctop/v1/receipt';
export const REASON_PATTERN = /^[a-z][a-z0-9_]{0,47}$/;
/** Most results in one receipt. */
export const MAX_RECEIPT_RESULTS = 256;

export function signReceipt(signer: Ed25519Signer, receipt: Receipt): Buffer {
  if (receipt.results.length === 0 || receipt.results.length > MAX_RECEIPT_RESULTS) {
    throw new RangeError(`a receipt carries 1 to ${MAX_RECEIPT_RESULTS} results`);
  }
  return signMessage(signer, CONTENT_TYPES.receipt, receipt);
}

export interface OpenedReceipt {
  receipt: Receipt;
  signed: SignedMessage;
}

/** Decodes a receipt's structure; the signature is checked by `verifyReceipt`. */
export function openReceipt(bytes: Uint8Array): OpenedReceipt {
  const signed = openMessage(bytes, CONTENT_TYPES.receipt);
  const body = decodeBody(signed, {
    maxDepth: 3,
    maxMapSize: 32,
    maxTextBytes: 1024,
    maxArrayLength: MAX_RECEIPT_RESULTS,
  });
  const r = new FieldReader(body, 'receipt');
  const action = r.text('action', { max: 64 });
  if (action !== RECEIPT_ACTION) r.fail('action', `must be "${RECEIPT_ACTION}"`);
  // Pushed into one kind of array whether this runs interpreted or optimised (V8's optimised
  // `map` makes arrays of another map): the sync's settling loop saw both and was recompiled.
  const items = r.array('results', MAX_RECEIPT_RESULTS);
  const results = emptyObjectArray<ReceiptResult>();
  for (let i = 0; i < items.length; i++) results.push(readResult(items[i], i));
  if (results.length === 0) r.fail('results', 'must not be empty');
  return {
    signed,
    receipt: {
      action: RECEIPT_ACTION,
      from: r.text('from', { max: 256, pattern: ADDRESS_PATTERN }),
      to: r.text('to', { max: 256, pattern: ADDRESS_PATTERN }),
      issuedAt: r.uint('issuedAt'),
      results,
    },
  };
}

function readResult(item: unknown, i: number): ReceiptResult {
  const r = new FieldReader(item, `receipt results[${i}]`);
  const status = r.oneOf('status', ['accepted', 'rejected'] as const);
  const reason = r.optionalText('reason', { max: 48, pattern: REASON_PATTERN });
  if (status === 'rejected' && reason === undefined) r.fail('reason', 'is required for a rejection');
  const detail = r.optionalText('detail', { max: 512 });
  const verification = r.optionalText('verification', { max: 32, pattern: REASON_PATTERN });
  const envelopeSha256 = r.has('envelopeSha256') ? r.bytes('envelopeSha256', 32) : undefined;
  return {
    messageId: r.text('messageId', { max: 45, pattern: URN_UUID_PATTERN }),
    conversationId: r.text('conversationId', { max: 45, pattern: URN_UUID_PATTERN }),
    payloadSha256: r.bytes('payloadSha256', 32),
    ...(envelopeSha256 === undefined ? {} : { envelopeSha256 }),
    status,
    ...(reason === undefined ? {} : { reason }),
    ...(detail === undefined ? {} : { detail }),
    receivedAt: r.uint('receivedAt'),
    duplicate: r.bool('duplicate'),
    ...(verification === undefined ? {} : { verification }),
  };
}

/**
 * Decodes a receipt and verifies it was signed by a trusted exchange key, valid and not
 * revoked at `receivedAt` — when this gateway received it, by its own clock (EXCHANGE.md
 * §3, v1.1). Never at the receipt's `issuedAt`: the exchange chose that time, and a revoked
 * exchange key could otherwise backdate receipts. E_SYNC_MALFORMED or E_SYNC_SIGNATURE
 * otherwise: such a receipt must be ignored, never acted on.
 */
export function verifyReceipt(bytes: Uint8Array, trust: TrustStore, receivedAt: number): OpenedReceipt {
  const opened = openReceipt(bytes);
  const check = verifySigned(trust, {
    kid: opened.signed.kid,
    role: 'exchange',
    message: toBeSigned(opened.signed),
    signature: opened.signed.signature,
    signedAt: receivedAt,
  });
  if (check.status !== 'valid') {
    throw new CtopError(
      'E_SYNC_SIGNATURE',
      `receipt from key ${opened.signed.kid}: ${check.status} (${check.detail})`,
      {
        details: { kid: opened.signed.kid, status: check.status },
      },
    );
  }
  return opened;
}
