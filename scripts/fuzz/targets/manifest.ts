import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ERRORS } from '../../../src/errors.js';
import { Ed25519Signer } from '../../../src/exchange-wire/index.js';
import { generateKey, publicPart } from '../../../src/keys/index.js';
import { encodeProtectedHeader, encodeSign1 } from '../../../src/manifest/cose.js';
import {
  DEFAULT_LIMITS,
  decodeBody,
  decodeSign1,
  encodeBody,
  inspectManifest,
  openManifest,
  sigStructure,
} from '../../../src/manifest/index.js';
import { check, checkEqual, describe, expectTyped, FuzzFinding } from '../lib/expect.js';
import { mutatedBytes } from '../lib/mutate-bytes.js';
import { applyTreeMutations, decodeTree, encodeTree, treeMutation, wordsOf } from '../lib/mutate-cbor.js';
import type { FuzzTarget } from '../lib/target.js';
import { fixtureKey, fixtureManifests, fixtureTrustStore } from './fixtures.js';

interface ManifestCase {
  /** `manifest`: signed bytes as a lock would hand them over; `body`: decrypted goods-body bytes. */
  kind: 'manifest' | 'body';
  bytes: Uint8Array;
}

const MANIFEST_ERRORS = /^E_MANIFEST_/;
const STATUSES = new Set(['valid', 'unknown_signer', 'bad_signature', 'expired', 'revoked', 'malformed']);

/**
 * Manifest decoding (src/cbor/, src/manifest/: inspectManifest, openManifest, decodeBody)
 * fed the fixture manifests mutated three ways: bytes (rarely past the deterministic-CBOR
 * scan), the COSE structure, and the signed payload's CBOR tree re-signed with a trusted
 * fuzz key (so routing and sealed-body validation, the validity window and decryption are
 * reached); plus the decrypted goods bodies mutated structurally. Asserts: inspectManifest
 * never throws and gives a known status with a registered E_MANIFEST_* code for every
 * non-valid one (an untyped error inside it shows as a missing code); openManifest and
 * decodeBody throw only E_MANIFEST_*; a decoded body survives encode → decode.
 */
export const manifestTarget: FuzzTarget<ManifestCase> = {
  name: 'manifest',
  description: 'CBOR/COSE manifest decoding (inspectManifest, openManifest, decodeBody)',
  setup() {
    const trust = fixtureTrustStore();
    const signers = [
      generateKey('signer', 'kz-fuzz-signer-1', { country: 'KZ' }),
      generateKey('signer', 'kz-fuzz-signer-revoked', { country: 'KZ' }),
    ];
    trust.add(publicPart(signers[0]!));
    trust.add(publicPart(signers[1]!), { notBefore: Date.UTC(2024, 0, 1) });
    trust.revoke('kz-fuzz-signer-revoked', Date.UTC(2025, 5, 1), 'fuzzing a revocation');
    const signing = signers.map((k) => ({
      signer: new Ed25519Signer(k),
      header: encodeProtectedHeader(k.kid),
    }));
    const recipients = [fixtureKey('kz-customs-recipient-1'), fixtureKey('cn-customs-recipient-1')];

    const fixtures = fixtureManifests();
    const small = fixtures.filter((f) => f.bytes.byteLength < 16 * 1024).map((f) => f.bytes);
    const payloads: Uint8Array[] = [];
    const bodies: Uint8Array[] = [];
    for (const { bytes } of fixtures) {
      try {
        payloads.push(decodeSign1(bytes, DEFAULT_LIMITS).payload);
      } catch {
        // not a COSE_Sign1 at all (non-canonical.cose): a byte-level seed only
      }
      for (const key of recipients) {
        try {
          bodies.push(encodeBody(openManifest(bytes, key, trust).body));
        } catch {
          // not valid, or not encrypted for this recipient
        }
      }
    }
    const smallPayloads = payloads.filter((p) => p.byteLength < 16 * 1024);
    const payloadTrees = smallPayloads.map(decodeTree);
    const payloadWords = wordsOf(payloadTrees);
    const resigned = fc
      .tuple(
        fc.nat(payloadTrees.length - 1),
        fc.array(treeMutation(payloadWords), { minLength: 0, maxLength: 3 }),
        fc.nat(signing.length - 1),
      )
      .map(([i, mutations, s]) => {
        const payload = encodeTree(applyTreeMutations(payloadTrees[i], mutations)) ?? smallPayloads[i]!;
        const { signer, header } = signing[s]!;
        return encodeSign1(header, payload, signer.sign(sigStructure(header, payload)));
      });
    const coseTrees = small.map(decodeTree);
    const outer = fc
      .tuple(
        fc.nat(coseTrees.length - 1),
        fc.array(treeMutation(wordsOf(coseTrees)), { minLength: 1, maxLength: 2 }),
      )
      .map(([i, mutations]) => encodeTree(applyTreeMutations(coseTrees[i], mutations)) ?? small[i]!);
    const bodyTrees = bodies.map(decodeTree);
    const bodyWords = wordsOf(bodyTrees);
    const body = fc
      .tuple(fc.nat(bodyTrees.length - 1), fc.array(treeMutation(bodyWords), { minLength: 1, maxLength: 3 }))
      .map(([i, mutations]) => encodeTree(applyTreeMutations(bodyTrees[i], mutations)) ?? bodies[i]!);

    const arbitrary: fc.Arbitrary<ManifestCase> = fc.oneof(
      { weight: 3, arbitrary: mutatedBytes(small).map((bytes) => ({ kind: 'manifest' as const, bytes })) },
      { weight: 1, arbitrary: outer.map((bytes) => ({ kind: 'manifest' as const, bytes })) },
      { weight: 5, arbitrary: resigned.map((bytes) => ({ kind: 'manifest' as const, bytes })) },
      { weight: 4, arbitrary: body.map((bytes) => ({ kind: 'body' as const, bytes })) },
    );
    return {
      arbitrary,
      record: ({ kind, bytes }) => Buffer.concat([Buffer.from(kind === 'manifest' ? 'M' : 'B'), bytes]),
      check({ kind, bytes }) {
        if (kind === 'body') {
          const decoded = expectTyped('decodeBody', MANIFEST_ERRORS, () => decodeBody(bytes, DEFAULT_LIMITS));
          if (!decoded.ok) return `body ${decoded.code}`;
          checkEqual(
            decodeBody(encodeBody(decoded.value), DEFAULT_LIMITS),
            decoded.value,
            'a goods body changed through encode → decode',
          );
          return 'body ok';
        }
        let inspection: ReturnType<typeof inspectManifest>;
        try {
          inspection = inspectManifest(bytes, trust);
        } catch (err) {
          throw new FuzzFinding(`inspectManifest threw ${describe(err)}`, { cause: err });
        }
        const { verification } = inspection;
        check(
          inspection.manifestId === createHash('sha256').update(bytes).digest('hex'),
          'manifestId is not the SHA-256 of the bytes',
        );
        check(STATUSES.has(verification.status), `unknown status ${verification.status}`);
        if (verification.status !== 'valid') {
          check(
            verification.code !== undefined &&
              verification.code in ERRORS &&
              MANIFEST_ERRORS.test(verification.code),
            `status ${verification.status} without a registered E_MANIFEST_* code: ${verification.detail}`,
          );
          return `${verification.status} ${verification.code}`;
        }
        check(inspection.routing && verification.signerKid, 'a valid manifest without routing or signer');
        const opened = recipients.map((key) =>
          expectTyped('openManifest', MANIFEST_ERRORS, () => openManifest(bytes, key, trust)),
        );
        const first = opened.find((o) => o.ok);
        if (first?.ok) {
          checkEqual(
            first.value.routing,
            inspection.routing,
            'openManifest and inspectManifest disagree on routing',
          );
          return 'valid, opened';
        }
        return `valid, ${opened.map((o) => (o.ok ? 'ok' : o.code)).join('/')}`;
      },
    };
  },
};
