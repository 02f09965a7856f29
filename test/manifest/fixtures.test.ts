import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  buildManifestFixtures,
  fixtureKeys,
  fixtureTrustStore,
  TRUST_STORE_FILE,
} from '../../scripts/make-manifest-fixtures.js';
import { isCtopError } from '../../src/errors.js';
import { TrustStore } from '../../src/keys/index.js';
import { composeManifest, inspectManifest, openManifest, readGoodsFile } from '../../src/manifest/index.js';
import {
  FIXTURE_KEYS_DIR,
  FIXTURE_MANIFESTS_DIR,
  FIXTURE_TRUST_STORE,
  testKeys,
} from '../helpers/test-keys.js';

interface Expected {
  goodsFiles: Record<
    string,
    { lines?: number; container?: string; warnings?: string[]; error?: string; path?: string; line?: number }
  >;
  signed: Record<
    string,
    {
      status: string;
      code?: string;
      signerKid?: string;
      lockId?: string;
      lines?: number;
      recipients?: string[];
      minBytes?: number;
      maxBytes?: number;
    }
  >;
}

const expected = JSON.parse(
  readFileSync(path.join(FIXTURE_MANIFESTS_DIR, 'expected.json'), 'utf8'),
) as Expected;

t.test('every goods file composes as expected.json says, errors with code, path and line', async (t) => {
  for (const [name, want] of Object.entries(expected.goodsFiles)) {
    const parsed = readGoodsFile(path.join(FIXTURE_MANIFESTS_DIR, name));
    if (want.error) {
      try {
        composeManifest(parsed.input, { locate: parsed.locate, source: parsed.source });
        t.fail(`${name} should be refused`);
      } catch (err) {
        t.ok(isCtopError(err), name);
        if (!isCtopError(err)) continue;
        t.equal(err.code, want.error, `${name}: code`);
        const issues = err.details.issues as { path: string; line?: number; code: string }[];
        t.equal(issues.length, 1, `${name}: exactly one problem`);
        t.equal(issues[0]!.path, want.path, `${name}: path`);
        t.equal(issues[0]!.line, want.line, `${name}: line`);
        t.match(
          err.message,
          `${path.basename(name)}:${want.line}: ${want.path}:`,
          `${name}: message points at file:line`,
        );
      }
    } else {
      const { manifest, warnings } = composeManifest(parsed.input, {
        locate: parsed.locate,
        source: parsed.source,
      });
      t.equal(manifest.body.goods.length, want.lines, `${name}: lines`);
      t.equal(manifest.routing.container, want.container, `${name}: container`);
      t.same(
        warnings.map((w) => w.code),
        want.warnings,
        `${name}: warnings`,
      );
    }
  }
});

t.test(
  'every signed fixture inspects as expected.json says; valid ones open for their recipients',
  async (t) => {
    const keys = testKeys(t);
    const trust = TrustStore.load(FIXTURE_TRUST_STORE);
    for (const [name, want] of Object.entries(expected.signed)) {
      const bytes = readFileSync(path.join(FIXTURE_MANIFESTS_DIR, name));
      const inspection = inspectManifest(bytes, trust);
      t.equal(inspection.verification.status, want.status, `${name}: status`);
      t.equal(inspection.verification.code, want.code, `${name}: code`);
      t.equal(inspection.verification.signerKid, want.signerKid, `${name}: signer`);
      t.match(inspection.manifestId, /^[0-9a-f]{64}$/);
      if (want.minBytes)
        t.ok(
          bytes.byteLength >= want.minBytes && bytes.byteLength <= want.maxBytes!,
          `${name}: ${bytes.byteLength} bytes`,
        );
      if (want.status !== 'valid') {
        t.throws(
          () => openManifest(bytes, keys.key('cn-customs-recipient-1'), trust),
          { code: want.code },
          `${name}: never opened`,
        );
        continue;
      }
      t.equal(inspection.routing?.lockId, want.lockId, `${name}: lock id`);
      t.same(inspection.routing?.recipients, want.recipients, `${name}: recipients`);
      for (const kid of ['kz-customs-recipient-1', 'cn-customs-recipient-1']) {
        if (want.recipients!.includes(kid)) {
          const opened = openManifest(bytes, keys.key(kid), trust);
          t.equal(opened.body.goods.length, want.lines, `${name}: ${kid} reads ${want.lines} lines`);
        } else {
          t.throws(
            () => openManifest(bytes, keys.key(kid), trust),
            { code: 'E_MANIFEST_NOT_RECIPIENT' },
            `${name}: ${kid}`,
          );
        }
      }
    }
  },
);

t.test('the committed fixtures are exactly what scripts/make-manifest-fixtures.ts makes', async (t) => {
  const keys = fixtureKeys();
  for (const [rel, bytes] of buildManifestFixtures(keys)) {
    t.ok(bytes.equals(readFileSync(path.join(FIXTURE_MANIFESTS_DIR, rel))), `${rel} is up to date`);
  }
  const store = JSON.parse(JSON.stringify(fixtureTrustStore(keys).toJSON()));
  t.same(JSON.parse(readFileSync(TRUST_STORE_FILE, 'utf8')), store, 'trust store is up to date');
});

t.test('test keys are named *.TEST-ONLY.* so nobody mistakes them for real ones', async (t) => {
  const files = readdirSync(FIXTURE_KEYS_DIR);
  t.ok(files.length >= 8);
  for (const f of files) t.match(f, /\.TEST-ONLY\.(key|pub|json)$/, f);
});
