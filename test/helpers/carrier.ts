import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateKey, type PrivateKey, signDetached, writeKeyPair } from '../../src/keys/index.js';
import type { PairingCarrier } from '../../src/pairing/index.js';
import type { CarrierKey } from '../../src/sim/lock/lock-flash.js';
import { FIXTURE_MANIFESTS_DIR } from './test-keys.js';

/** A carrier key: what the lock is provisioned with, and what the pairing signs with. */
export interface TestCarrier {
  key: PrivateKey;
  /** For LockEngineOptions.carrierKeys. */
  provisioned: CarrierKey;
  /** For pairLock. */
  carrier: PairingCarrier;
}

export function testCarrier(kid = 'kz-carrier-ktze-1'): TestCarrier {
  const key = generateKey('carrier', kid);
  return {
    key,
    provisioned: { kid, publicKey: key.publicKey },
    carrier: { kid, sign: (payload) => signDetached(key, payload, 'carrier') },
  };
}

/** Writes the carrier key pair into `dir` (the .key at 0600) for the CLI; returns the .key path. */
export function writeCarrierKey(dir: string, carrier: TestCarrier): string {
  return writeKeyPair(dir, carrier.key).privateKey;
}

/** Signed fixture manifests with the lock, container and wagon they name (fixtures/manifests/). */
export const PAIRING_FIXTURES = {
  minimal: { file: 'minimal.cose', lockId: 'SSL-KZ-000001', container: 'MSKU4002711', wagon: '42903518' },
  wheat: {
    file: 'wheat-kostanay-urumqi.cose',
    lockId: 'SSL-KZ-000123',
    container: 'FCIU5093182',
    wagon: '42546184',
  },
  electronics: {
    file: 'electronics-xian-duisburg.cose',
    lockId: 'SSL-CN-000457',
    container: 'TGHU8823466',
    wagon: 'X70-5012346',
  },
  consolidated: {
    file: 'consolidated-300.cose',
    lockId: 'SSL-CN-001944',
    container: 'TCNU3188659',
    wagon: 'X70-5210077',
  },
} as const;

export type PairingFixture = (typeof PAIRING_FIXTURES)[keyof typeof PAIRING_FIXTURES];

export function fixtureBytes(f: PairingFixture): Buffer {
  return readFileSync(path.join(FIXTURE_MANIFESTS_DIR, f.file));
}
