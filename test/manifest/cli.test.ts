import { chmodSync, copyFileSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

const fixture = (name: string) => path.join(FIXTURE_MANIFESTS_DIR, name);

t.test('compose → encrypt → sign → verify → show, as an operator runs it', async (t) => {
  const keys = testKeys(t);
  const draft = path.join(keys.dir, 'minimal.draft.cbor');
  const sealed = path.join(keys.dir, 'minimal.sealed.cbor');
  const cose = path.join(keys.dir, 'minimal.cose');

  const compose = await runCli(['manifest', 'compose', '--in', fixture('minimal.json'), '--out', draft]);
  t.equal(compose.code, 0, compose.stderr);
  t.match(
    compose.stdout,
    /minimal\.json: valid — 1 goods line, container MSKU4002711, lock SSL-KZ-000001, KZ → CN/,
  );
  t.equal(statSync(draft).mode & 0o777, 0o600, 'the plaintext draft is owner-only');

  const encrypt = await runCli([
    'manifest',
    'encrypt',
    '--in',
    draft,
    '--to',
    'cn-customs-recipient-1',
    '--to',
    'kz-customs-recipient-1',
    '--trust',
    keys.trustStoreFile,
    '--out',
    sealed,
  ]);
  t.equal(encrypt.code, 0, encrypt.stderr);
  t.match(encrypt.stdout, /encrypted for cn-customs-recipient-1, kz-customs-recipient-1/);

  const sign = await runCli([
    'manifest',
    'sign',
    '--in',
    sealed,
    '--key',
    keys.keyFile('kz-customs-signer-1'),
    '--out',
    cose,
  ]);
  t.equal(sign.code, 0, sign.stderr);
  t.match(sign.stdout, /signed by kz-customs-signer-1/);

  const verify = await runCli(['manifest', 'verify', '--in', cose, '--trust', keys.trustStoreFile]);
  t.equal(verify.code, 0, verify.stderr);
  t.match(verify.stdout, /^valid \(signer kz-customs-signer-1\) [0-9a-f]{64}\n$/);

  const show = await runCli([
    'manifest',
    'show',
    '--in',
    cose,
    '--trust',
    keys.trustStoreFile,
    '--decrypt',
    '--key',
    keys.keyFile('kz-customs-recipient-1'),
  ]);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /Verification +VALID, signer kz-customs-signer-1/);
  t.match(show.stdout, /Route +KZ DOSTYK → CN ALASHANKOU/);
  t.match(show.stdout, /Consignor +Steppe Copper LLP/);
  t.match(show.stdout, /1 +7403110000 +Copper cathodes +24 TNE +24050 +216000 USD +KZ/);

  const json = await runCli(['manifest', 'show', '--in', cose, '--trust', keys.trustStoreFile, '--json']);
  t.equal(json.code, 0);
  const parsed = JSON.parse(json.stdout);
  t.equal(parsed.verification.status, 'valid');
  t.equal(parsed.routing.container, 'MSKU4002711');
  t.equal(parsed.body, undefined, 'no goods without --decrypt');
});

t.test('failures exit with the code of their category and say what to do', async (t) => {
  const keys = testKeys(t);
  const trust = keys.trustStoreFile;

  const tampered = await runCli([
    'manifest',
    'verify',
    '--in',
    fixture('invalid/tampered.cose'),
    '--trust',
    trust,
  ]);
  t.equal(tampered.code, EXIT_CODES.integrity);
  t.match(tampered.stdout, /^bad_signature/);
  t.match(tampered.stderr, /E_MANIFEST_BAD_SIGNATURE[\s\S]*what to do: tamper alert/);

  const oversize = await runCli([
    'manifest',
    'verify',
    '--in',
    fixture('invalid/oversize.cose'),
    '--trust',
    trust,
  ]);
  t.equal(oversize.code, EXIT_CODES.manifest);
  t.match(oversize.stderr, /E_MANIFEST_TOO_LARGE/);

  const bin = await runCli(['manifest', 'compose', '--in', fixture('invalid/bad-bin.csv')]);
  t.equal(bin.code, EXIT_CODES.manifest);
  t.match(
    bin.stderr,
    /E_MANIFEST_KZ_BIN: bad-bin\.csv: 1 problem:\n {2}bad-bin\.csv:15: consignor\.id: "070340002317"/,
  );

  const notRecipient = await runCli([
    'manifest',
    'show',
    '--in',
    fixture('minimal.cose'),
    '--trust',
    trust,
    '--decrypt',
    '--key',
    keys.keyFile('kz-customs-recipient-1'),
  ]);
  t.equal(notRecipient.code, EXIT_CODES.security);
  t.match(notRecipient.stderr, /E_MANIFEST_NOT_RECIPIENT/);

  const unknownRecipient = await runCli([
    'manifest',
    'encrypt',
    '--in',
    fixture('minimal.json'),
    '--to',
    'kz-customs-signer-1',
    '--trust',
    trust,
    '--out',
    path.join(keys.dir, 'x'),
  ]);
  t.not(unknownRecipient.code, 0, 'a JSON goods file is not a draft, and a signer is not a recipient');

  const draftSigned = await runCli([
    'manifest',
    'compose',
    '--in',
    fixture('minimal.json'),
    '--out',
    path.join(keys.dir, 'd.cbor'),
  ]);
  t.equal(draftSigned.code, 0);
  const signer = await runCli([
    'manifest',
    'encrypt',
    '--in',
    path.join(keys.dir, 'd.cbor'),
    '--to',
    'kz-customs-signer-1',
    '--trust',
    trust,
    '--out',
    path.join(keys.dir, 'x'),
  ]);
  t.equal(signer.code, EXIT_CODES.config);
  t.match(
    signer.stderr,
    /E_MANIFEST_RECIPIENT: kz-customs-signer-1 is a signer key, not a customs recipient key/,
  );
  const signDraft = await runCli([
    'manifest',
    'sign',
    '--in',
    path.join(keys.dir, 'd.cbor'),
    '--key',
    keys.keyFile('kz-customs-signer-1'),
    '--out',
    path.join(keys.dir, 'y'),
  ]);
  t.equal(signDraft.code, EXIT_CODES.usage);
  t.match(signDraft.stderr, /E_MANIFEST_NOT_ENCRYPTED/);

  // As after a fresh clone: git keeps no mode bits, the committed key is 0644.
  const exposed = path.join(keys.dir, 'exposed.key');
  copyFileSync(keys.keyFile('kz-customs-signer-1'), exposed);
  chmodSync(exposed, 0o644);
  const perms = await runCli([
    'manifest',
    'sign',
    '--in',
    path.join(keys.dir, 'd.cbor'),
    '--key',
    exposed,
    '--out',
    path.join(keys.dir, 'z'),
  ]);
  t.equal(perms.code, EXIT_CODES.security);
  t.match(
    perms.stderr,
    new RegExp(`E_KEY_PERMISSIONS: private key ${exposed} has mode 0644 .* Run: chmod 600 ${exposed}`),
  );
  t.equal(readFileSync(exposed, 'utf8').includes('secretKey'), true, 'the file itself is left alone');
});
