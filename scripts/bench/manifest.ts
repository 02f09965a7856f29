/**
 * Manifest benchmark (issue 4 item 11): sign+encrypt and verify+decrypt per second for a
 * 16 KiB manifest, each against node:crypto's Ed25519 (OpenSSL) signing or verifying the
 * same number of bytes, measured in the same run. Our path signs and verifies with OpenSSL
 * (src/keys/ed25519.ts; tweetnacl's pure-JavaScript Ed25519 gave 39 and 50 per second
 * here) and encrypts with tweetnacl's nacl.box, plus the CBOR and the schema checks, so the
 * ratio says what all of that costs next to a bare native signature.
 *
 * A third figure, for the gateway: inspecting (verifying, not decrypting) the 300-line
 * fixture (~68 KiB, the size the serial benchmark reads) against node:crypto verifying it.
 *
 * `npm run bench -- manifest`; BENCH_SECONDS (default 1.5) per round, 3 rounds, median.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateKey, publicPart, TrustStore } from '../../src/keys/index.js';
import {
  composeManifest,
  inspectManifest,
  type Manifest,
  openManifest,
  parseGoodsFile,
  sealManifest,
} from '../../src/manifest/index.js';
import { consolidatedCsv, fixtureKeys, fixtureTrustStore } from '../make-manifest-fixtures.js';
import { type BenchFigure, writeBenchResults } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const ROUNDS = 3;
const TARGET = 16 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Operations per second: median of ROUNDS rounds of about SECONDS each. */
function rate(op: () => unknown): number {
  op(); // warm up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < SECONDS * 1000) {
      op();
      n++;
      elapsed = performance.now() - started;
    }
    rates.push((n * 1000) / elapsed);
  }
  return median(rates);
}

const signer = generateKey('signer', 'kz-customs-signer-1', { country: 'KZ' });
const kz = generateKey('recipient', 'kz-customs-recipient-1', { country: 'KZ' });
const cn = generateKey('recipient', 'cn-customs-recipient-1', { country: 'CN' });
const trust = TrustStore.empty();
for (const k of [signer, kz, cn]) trust.add(publicPart(k));

function manifestOfLines(lines: number): Manifest {
  const parsed = parseGoodsFile(consolidatedCsv(lines, 'bench'), 'csv', 'bench.csv');
  return composeManifest(parsed.input).manifest;
}

// The number of goods lines whose signed manifest is closest to 16 KiB.
let lines = 1;
let manifest = manifestOfLines(lines);
let bytes = sealManifest(manifest, { signer, recipients: [kz, cn] });
for (let n = 2; n < 400; n++) {
  const m = manifestOfLines(n);
  const b = sealManifest(m, { signer, recipients: [kz, cn] });
  if (Math.abs(b.byteLength - TARGET) > Math.abs(bytes.byteLength - TARGET)) break;
  [lines, manifest, bytes] = [n, m, b];
}
console.log(`16 KiB manifest: ${lines} goods lines, ${bytes.byteLength} bytes signed, 2 recipients`);

const nodePrivate = createPrivateKey({
  key: {
    kty: 'OKP',
    crv: 'Ed25519',
    x: Buffer.from(signer.publicKey).toString('base64url'),
    d: Buffer.from(signer.secretKey).toString('base64url'),
  },
  format: 'jwk',
});
const nodePublic = createPublicKey(nodePrivate);
const message = Buffer.alloc(bytes.byteLength, 0x5a);
const nodeSignature = nodeSign(null, message, nodePrivate);

const sealRate = rate(() => sealManifest(manifest, { signer, recipients: [kz, cn] }));
const nodeSignRate = rate(() => nodeSign(null, message, nodePrivate));
const openRate = rate(() => openManifest(bytes, kz, trust));
const nodeVerifyRate = rate(() => nodeVerify(null, message, nodePublic, nodeSignature));

const fixture = readFileSync(new URL('../../fixtures/manifests/consolidated-300.cose', import.meta.url));
const fixtureTrust = fixtureTrustStore(fixtureKeys());
if (inspectManifest(fixture, fixtureTrust).verification.status !== 'valid')
  throw new Error('fixture does not verify');
const fixtureMessage = Buffer.alloc(fixture.byteLength, 0x5a);
const fixtureSignature = nodeSign(null, fixtureMessage, nodePrivate);
const inspectRate = rate(() => inspectManifest(fixture, fixtureTrust));
const nodeVerifyFixtureRate = rate(() => nodeVerify(null, fixtureMessage, nodePublic, fixtureSignature));

const size = `${(bytes.byteLength / 1024).toFixed(1)} KiB`;
const figures: BenchFigure[] = [
  {
    name: `manifest sign+encrypt ${size} (compose excluded, 2 recipients, nacl.box)`,
    value: sealRate,
    unit: 'manifests/s',
    baseline: { name: `node:crypto Ed25519 sign ${size}`, value: nodeSignRate, unit: 'signatures/s' },
    ratio: sealRate / nodeSignRate,
    ratioMeaning: 'ours ÷ native sign of the same bytes; 1.0 would be native speed',
  },
  {
    name: `manifest verify+decrypt ${size} (openManifest)`,
    value: openRate,
    unit: 'manifests/s',
    baseline: { name: `node:crypto Ed25519 verify ${size}`, value: nodeVerifyRate, unit: 'verifications/s' },
    ratio: openRate / nodeVerifyRate,
    ratioMeaning: 'ours ÷ native verify of the same bytes; 1.0 would be native speed',
  },
  {
    name: `gateway inspect (verify, no decrypt) ${(fixture.byteLength / 1024).toFixed(1)} KiB, 300 lines`,
    value: inspectRate,
    unit: 'manifests/s',
    baseline: {
      name: `node:crypto Ed25519 verify ${(fixture.byteLength / 1024).toFixed(1)} KiB`,
      value: nodeVerifyFixtureRate,
      unit: 'verifications/s',
    },
    ratio: inspectRate / nodeVerifyFixtureRate,
    ratioMeaning: 'ours ÷ native verify of the same bytes',
  },
];
writeBenchResults('manifest', figures, {
  manifestBytes: bytes.byteLength,
  goodsLines: lines,
  recipients: 2,
  roundSeconds: SECONDS,
  rounds: ROUNDS,
});
