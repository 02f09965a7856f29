import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { describeProof, proofOf, signatureFailure } from '../../src/cli/read-proof.js';
import { EXIT_CODES } from '../../src/errors.js';
import type { LockReadResult } from '../../src/lock/reader.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

/** What `read` says it proved, for every signature verdict, without a lock in the loop. */
function readOf(file: string, pinned: boolean): LockReadResult {
  return {
    manifest: readFileSync(join(FIXTURE_MANIFESTS_DIR, file)),
    auth: { nonce: new Uint8Array(32), signature: new Uint8Array(64) },
    pinned,
  } as LockReadResult;
}

t.test('every signature verdict: its words and its exit code', async (t) => {
  const trust = testKeys(t).trustStore();
  const cases: [string, string, number | undefined][] = [
    ['minimal.cose', 'valid', undefined],
    ['invalid/tampered.cose', 'bad_signature', EXIT_CODES.integrity],
    ['invalid/unknown-signer.cose', 'unknown_signer', EXIT_CODES.manifest],
    ['invalid/expired-signer.cose', 'expired', EXIT_CODES.manifest],
    ['invalid/revoked-signer.cose', 'revoked', EXIT_CODES.manifest],
    ['invalid/non-canonical.cose', 'malformed', EXIT_CODES.manifest],
  ];
  for (const [file, status, exit] of cases) {
    const proof = proofOf(readOf(file, true), trust);
    t.equal(proof.manifestSignature, status, file);
    t.equal(signatureFailure(proof)?.exitCode, exit, `${file}: exit ${exit ?? 0}`);
    t.match(
      describeProof(proof, true)[1],
      status === 'valid' ? /^signature {3}valid, signed by / : new RegExp(status.toUpperCase()),
    );
  }
});

t.test('without a trust store: "not checked", never an error; identity as proven', async (t) => {
  const proof = proofOf(readOf('invalid/tampered.cose', false), undefined);
  t.same(proof, { identity: 'first use, not pinned', manifestSignature: 'not checked' });
  t.equal(signatureFailure(proof), undefined);
  t.same(describeProof(proof, true), [
    'identity    first use, not pinned: the lock proved it holds this key, not that the key is its provisioned one',
    'signature   manifest signature not checked (give --trust <file> to check it)',
  ]);
  t.equal(
    proofOf({ ...readOf('minimal.cose', true), auth: undefined } as LockReadResult, undefined).identity,
    'not proven',
  );
});
