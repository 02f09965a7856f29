import { createHash } from 'node:crypto';
import { z } from 'zod';
import { decodeToObjects, encodeCanonical } from '../cbor/index.js';
import { CtopError } from '../errors.js';
import { type PrivateKey, signDetached, verifyDetached } from '../keys/index.js';

/**
 * The export bundle: everything a gateway stored since a point in time, for manual transfer
 * (USB stick, courier) when the network is gone for days. Self-verifying: it carries the
 * gateway's public key and a signature over its contents, and each manifest is addressed
 * by the SHA-256 of its bytes. Whether that key is the gateway's is for the importer to
 * decide (trust store or the gateway's .pub file).
 *
 *   bundle   = { format: "ctop-agent-bundle/1", signer: { kid, publicKey }, contents: bstr, sig: bstr }
 *   sig      = Ed25519( "ctop-agent-bundle/1" || 0x00 || contents ) by the gateway key
 *   contents = deterministic CBOR of BundleContents (below); integers only, times in ms
 */
export const BUNDLE_FORMAT = 'ctop-agent-bundle/1';

const int = z
  .union([z.number(), z.bigint()])
  .transform((v) => Number(v))
  .refine((v) => Number.isSafeInteger(v) && v >= 0, { message: 'must be a non-negative integer' });
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be a byte string' });
const bytesOf = (n: number) => bytes.refine((b) => b.byteLength === n, { message: `must be ${n} bytes` });
const text = (max: number) => z.string().max(max);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const lockSchema = z.object({
  lockId: text(128).min(1),
  identityKey: bytesOf(32).optional(),
});

const manifestSchema = z.object({
  manifestId: hex64,
  bytes,
  receivedAt: int,
  lockId: text(128).optional(),
  verification: z.enum([
    'valid',
    'unknown_signer',
    'bad_signature',
    'expired',
    'revoked',
    'malformed',
    'unverified',
  ]),
  verificationDetail: text(4096).optional(),
  signerKid: text(128).optional(),
  routing: z
    .object({
      lockId: text(128),
      container: text(128),
      wagon: text(128),
      train: text(128).optional(),
      departure: text(128),
      destination: text(128),
      departureCountry: text(128).optional(),
      destinationCountry: text(128).optional(),
      createdAt: int,
      signerKid: text(128),
    })
    .optional(),
});

const readSchema = z.object({
  readUid: hex64,
  gatewayId: text(128).min(1),
  transport: z.enum(['serial', 'ble', 'unknown']),
  endpoint: text(256),
  startedAt: int,
  finishedAt: int,
  outcome: z.enum(['complete', 'failed']),
  errorCode: text(64).optional(),
  errorMessage: text(4096).optional(),
  lockId: text(128).optional(),
  presentedKey: bytesOf(32).optional(),
  authenticated: z.boolean(),
  trust: z.enum(['trusted', 'clone', 'unknown_lock', 'unauthenticated', 'no_lock']),
  firmware: text(128).optional(),
  battery: int.optional(),
  sealState: int.optional(),
  manifestSize: int.optional(),
  manifestSha256: bytesOf(32).optional(),
  eventCount: int.optional(),
  eventHead: bytesOf(32).optional(),
  manifestId: hex64.optional(),
  eventsRead: int,
  evidence: bytes.optional(),
  stats: z.object({ bytesRead: int, frames: int, retries: int, resumes: int, crcErrors: int }),
});

const eventSchema = z.object({
  lockId: text(128).min(1),
  counter: int,
  time: int,
  kind: int,
  detail: bytes,
  prev: bytesOf(32),
  sig: bytesOf(64),
  hash: bytesOf(32),
});

const alertSchema = z.object({
  kind: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  lockId: text(128).optional(),
  manifestId: hex64.optional(),
  subject: text(4096),
  detail: text(4096),
  evidence: bytes.optional(),
  raisedAt: int,
});

export const bundleContentsSchema = z.object({
  gatewayId: text(128).min(1),
  createdAt: int,
  since: int,
  locks: z.array(lockSchema),
  manifests: z.array(manifestSchema),
  reads: z.array(readSchema),
  events: z.array(eventSchema),
  alerts: z.array(alertSchema),
});

export type BundleContents = z.infer<typeof bundleContentsSchema>;

const bundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  signer: z.object({ kid: text(64).min(1), publicKey: bytesOf(32) }),
  contents: bytes,
  sig: bytesOf(64),
});

function signedMessage(contents: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(BUNDLE_FORMAT), Buffer.from([0]), contents]);
}

/** Signs contents with the gateway key into the bundle file's bytes. */
export function sealBundle(contents: BundleContents, gatewayKey: PrivateKey): Buffer {
  const encoded = encodeCanonical(contents);
  return encodeCanonical({
    format: BUNDLE_FORMAT,
    signer: { kid: gatewayKey.kid, publicKey: gatewayKey.publicKey },
    contents: encoded,
    sig: signDetached(gatewayKey, signedMessage(encoded), 'gateway'),
  });
}

export interface OpenedBundle {
  signer: { kid: string; publicKey: Uint8Array };
  contents: BundleContents;
}

function formatError(what: string, cause?: unknown): CtopError {
  return new CtopError('E_BUNDLE_FORMAT', `export bundle: ${what}`, cause === undefined ? {} : { cause });
}

/**
 * Decodes a bundle and checks it against itself: the signature over the contents with the
 * key it carries, every manifest's bytes against its id. Does not decide whether that key
 * belongs to a gateway the importer trusts: `expectedSigner` does (compare it before
 * storing anything).
 */
export function openBundle(
  file: Uint8Array,
  expectedSigner?: { kid?: string; publicKey: Uint8Array },
): OpenedBundle {
  let outer: z.infer<typeof bundleSchema>;
  try {
    outer = bundleSchema.parse(decodeToObjects(file));
  } catch (err) {
    throw formatError(`not a ${BUNDLE_FORMAT} file (${(err as Error).message.slice(0, 200)})`, err);
  }
  if (!verifyDetached(signedMessage(outer.contents), outer.sig, outer.signer.publicKey)) {
    throw new CtopError(
      'E_BUNDLE_SIGNATURE',
      `export bundle: the signature of ${outer.signer.kid} does not verify: altered after export`,
    );
  }
  if (expectedSigner && !Buffer.from(expectedSigner.publicKey).equals(outer.signer.publicKey)) {
    throw new CtopError(
      'E_BUNDLE_SIGNATURE',
      `export bundle signed by "${outer.signer.kid}" with a key that is not the trusted gateway key${expectedSigner.kid ? ` ${expectedSigner.kid}` : ''}`,
    );
  }
  let contents: BundleContents;
  try {
    contents = bundleContentsSchema.parse(decodeToObjects(outer.contents));
  } catch (err) {
    throw formatError(
      `contents do not match the bundle schema (${(err as Error).message.slice(0, 300)})`,
      err,
    );
  }
  for (const m of contents.manifests) {
    if (createHash('sha256').update(m.bytes).digest('hex') !== m.manifestId) {
      throw formatError(`manifest ${m.manifestId.slice(0, 16)}… does not match its SHA-256`);
    }
  }
  return { signer: outer.signer, contents };
}
