import type { SealedEnvelope } from '../exchange-wire/index.js';
import type { EnvelopeContext } from './outbox-envelope.js';

/**
 * An outbox row's envelope signed once (EXCHANGE.md §3, version 1.2), as the row keeps it
 * (`envelope_seal`): the sync's own bytes, read back only by the sync.
 *
 *   u8 format (1) · u16 length + kid · u16 length + context · u32 length + body head ·
 *   u32 length + body tail · u32 payload length · 64-byte signature
 *
 * The context is the addresses the body was made for: a seal made before the gateway's
 * configuration changed (another exchange address, say) is not used, nor one signed with a
 * key the gateway no longer signs with (a rotation): the row is then signed at publish.
 */
const FORMAT = 1;
const SIGNATURE_BYTES = 64;
/** The body around the payload: routing and addresses, well under this (EXCHANGE.md §10). */
const MAX_PART_BYTES = 64 * 1024;
/** The width of each part's length: kid and context u16, body head and tail u32. */
const PART_LENGTH_BYTES = [2, 2, 4, 4] as const;

export function contextKey(context: EnvelopeContext): string {
  return `${context.from}\n${context.to}\n${context.replyTo}`;
}

export function encodeOutboxSeal(sealed: SealedEnvelope, context: EnvelopeContext): Buffer {
  const kid = Buffer.from(sealed.kid, 'utf8');
  const ctx = Buffer.from(contextKey(context), 'utf8');
  const out = Buffer.alloc(
    1 +
      2 +
      kid.length +
      2 +
      ctx.length +
      4 +
      sealed.head.length +
      4 +
      sealed.tail.length +
      4 +
      SIGNATURE_BYTES,
  );
  let at = out.writeUInt8(FORMAT, 0);
  at = out.writeUInt16BE(kid.length, at);
  at += kid.copy(out, at);
  at = out.writeUInt16BE(ctx.length, at);
  at += ctx.copy(out, at);
  at = out.writeUInt32BE(sealed.head.length, at);
  at += sealed.head.copy(out, at);
  at = out.writeUInt32BE(sealed.tail.length, at);
  at += sealed.tail.copy(out, at);
  at = out.writeUInt32BE(sealed.payloadLength, at);
  out.set(sealed.signature, at);
  return out;
}

/**
 * The seal a row keeps, if it is usable for `context`: undefined for anything else (another
 * format, damaged bytes, another context). A seal that decodes is still only the gateway's
 * own claim: the exchange checks the signature of every copy.
 */
export function decodeOutboxSeal(bytes: Uint8Array | undefined, context: string): SealedEnvelope | undefined {
  if (!bytes || bytes.byteLength < 1 || bytes[0] !== FORMAT) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // kid, context, body head, body tail: each after its length. A loop, not a closure made per
  // call: V8 compiled new closures again (~20 ms each time) in a drain that decodes every seal.
  const parts: Buffer[] = [];
  let at = 1;
  for (const lengthBytes of PART_LENGTH_BYTES) {
    if (at + lengthBytes > b.length) return undefined;
    const n = lengthBytes === 2 ? b.readUInt16BE(at) : b.readUInt32BE(at);
    at += lengthBytes;
    if (n > MAX_PART_BYTES || at + n > b.length) return undefined;
    parts.push(b.subarray(at, at + n));
    at += n;
  }
  const kid = parts[0]!;
  const ctx = parts[1]!;
  const head = parts[2]!;
  const tail = parts[3]!;
  if (at + 4 + SIGNATURE_BYTES !== b.length) return undefined;
  if (ctx.toString('utf8') !== context) return undefined;
  const payloadLength = b.readUInt32BE(at);
  return {
    kid: kid.toString('utf8'),
    head,
    tail,
    payloadLength,
    signature: b.subarray(at + 4),
  };
}
