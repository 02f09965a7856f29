/**
 * Ed25519 verification: the verifier the agent and the reference exchange use
 * (`verifyEd25519`: libsodium where sodium-native loads) against OpenSSL's through
 * node:crypto, the fallback, on the same 9 KB message (an envelope's size) and key, in the
 * same run. CPU time per verification, the median of five rounds each, interleaved.
 */
import { randomBytes } from 'node:crypto';
import { ED25519_VERIFIER, verifyEd25519, verifyEd25519OpenSsl } from '../../src/keys/ed25519.js';
import { generateKey, signDetached } from '../../src/keys/index.js';
import { type BenchFigure, writeBenchResults } from './lib.js';

const BYTES = 9 * 1024;
const PER_ROUND = 2000;
const ROUNDS = 5;

const key = generateKey('gateway', 'bench-gw');
const message = randomBytes(BYTES);
const signature = signDetached(key, message);

function microsPerVerify(verify: typeof verifyEd25519): number {
  const start = process.cpuUsage();
  for (let i = 0; i < PER_ROUND; i++)
    if (!verify(message, signature, key.publicKey)) throw new Error('did not verify');
  const used = process.cpuUsage(start);
  return (used.user + used.system) / PER_ROUND;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
microsPerVerify(verifyEd25519);
microsPerVerify(verifyEd25519OpenSsl);
const ours: number[] = [];
const openssl: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(microsPerVerify(verifyEd25519));
  openssl.push(microsPerVerify(verifyEd25519OpenSsl));
}
const value = median(ours);
const baseline = median(openssl);
const figures: BenchFigure[] = [
  {
    name: `Ed25519 verify, ${BYTES / 1024} KiB (${ED25519_VERIFIER})`,
    value,
    unit: 'µs CPU',
    baseline: { name: 'OpenSSL through node:crypto, same message', value: baseline, unit: 'µs CPU' },
    ratio: value / baseline,
    ratioMeaning: 'verifier in use ÷ OpenSSL; below 1 is faster',
    goal: '< 1',
    met: value < baseline,
  },
];
writeBenchResults('ed25519', figures, {
  verifier: ED25519_VERIFIER,
  bytes: BYTES,
  perRound: PER_ROUND,
  rounds: ROUNDS,
});
