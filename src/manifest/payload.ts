import { decodeDeterministic, encodeCanonical } from '../cbor/index.js';
import { CtopError } from '../errors.js';
import { asRecord, checkKeys } from './fields.js';
import { Issues } from './issues.js';
import { bodyCborLimits, envelopeCborLimits, type ManifestLimits } from './limits.js';
import { validateSealed } from './seal.js';
import { type GoodsBody, MANIFEST_VERSION, type Manifest, type ManifestPayload } from './types.js';
import { validateBody } from './validate-body.js';
import { validateRouting } from './validate-routing.js';

/**
 * CBOR forms of the manifest (MANIFEST.md §3–§4): the payload that is signed
 * `{ "v": 1, "routing": …, "sealed": … }`, the draft that `compose` writes
 * `{ "v": 1, "routing": …, "body": … }`, and the bare goods body that is encrypted.
 */

/**
 * Decoded CBOR maps become plain null-prototype records, so a key such as "__proto__" is
 * just a key, and any non-text key is refused.
 */
export function fromCbor(value: unknown, path = ''): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of value) {
      if (typeof k !== 'string')
        throw new CtopError(
          'E_MANIFEST_MALFORMED',
          `${path || 'manifest'}: map key ${String(k)} is not text`,
        );
      out[k] = fromCbor(v, path ? `${path}.${k}` : k);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => fromCbor(v, `${path}[${i}]`));
  // cbor-x returns every 8-byte integer as a bigint; times in ms need 8 bytes.
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new CtopError('E_MANIFEST_MALFORMED', `${path}: integer out of range`);
    }
    return Number(value);
  }
  return value;
}

export function encodeBody(body: GoodsBody): Buffer {
  return encodeCanonical(body);
}

export function encodePayload(payload: ManifestPayload): Buffer {
  return encodeCanonical(payload);
}

export function encodeDraft(manifest: Manifest): Buffer {
  return encodeCanonical({ v: MANIFEST_VERSION, routing: manifest.routing, body: manifest.body });
}

function checkVersion(record: Record<string, unknown>): void {
  if (record.v !== MANIFEST_VERSION) {
    // Decoded maps have no prototype: String() of one throws, so only numbers are quoted.
    const version = typeof record.v === 'number' ? String(record.v) : `of type ${typeof record.v}`;
    throw new CtopError(
      'E_MANIFEST_MALFORMED',
      `schema version ${version} is not supported (this agent reads v${MANIFEST_VERSION})`,
    );
  }
}

/**
 * Decodes and validates a signed payload's bytes; throws the first issue's code. A draft
 * (plaintext body) is E_MANIFEST_MALFORMED as a received manifest, and
 * E_MANIFEST_NOT_ENCRYPTED (`forSigning`) when someone tries to sign it.
 */
export function decodePayload(
  bytes: Uint8Array,
  limits: ManifestLimits,
  options: { forSigning?: boolean } = {},
): ManifestPayload {
  const record = asTopRecord(decodeDeterministic(bytes, envelopeCborLimits(limits)));
  if ('body' in record && !('sealed' in record)) {
    throw new CtopError(
      options.forSigning ? 'E_MANIFEST_NOT_ENCRYPTED' : 'E_MANIFEST_MALFORMED',
      'the goods body is not encrypted: this is a draft, not a manifest payload',
    );
  }
  checkVersion(record);
  const issues = new Issues('wire');
  checkKeys(record, ['v', 'routing', 'sealed'], '', issues);
  const routing = validateRouting(record.routing, 'routing', issues, 0);
  const sealed = validateSealed(record.sealed, 'sealed', issues, limits);
  issues.throwIfAny('payload');
  return { v: MANIFEST_VERSION, routing: routing!, sealed: sealed! };
}

/** Decodes and validates decrypted goods-body bytes. */
export function decodeBody(bytes: Uint8Array, limits: ManifestLimits): GoodsBody {
  const issues = new Issues('wire');
  const body = validateBody(
    fromCbor(decodeDeterministic(bytes, bodyCborLimits(limits))),
    'body',
    issues,
    limits,
  );
  issues.throwIfAny('goods body');
  return body!;
}

/** Decodes a draft written by `manifest compose`. */
export function decodeDraft(bytes: Uint8Array, limits: ManifestLimits): Manifest {
  const record = asTopRecord(decodeDeterministic(bytes, bodyCborLimits(limits)));
  if ('sealed' in record) {
    throw new CtopError('E_USAGE', 'this manifest is already encrypted; sign it with `manifest sign`');
  }
  checkVersion(record);
  const issues = new Issues('wire');
  checkKeys(record, ['v', 'routing', 'body'], '', issues);
  const routing = validateRouting(record.routing, 'routing', issues, 0);
  const body = validateBody(record.body, 'body', issues, limits);
  issues.throwIfAny('draft');
  return { routing: routing!, body: body! };
}

function asTopRecord(decoded: unknown): Record<string, unknown> {
  const record = fromCbor(decoded);
  const issues = new Issues('wire');
  const r = asRecord(record, '', issues);
  if (!r) throw new CtopError('E_MANIFEST_MALFORMED', 'the manifest is not a CBOR map');
  return r;
}
