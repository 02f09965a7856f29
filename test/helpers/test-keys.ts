import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPrivateKey, type PrivateKey, TrustStore } from '../../src/keys/index.js';

export const FIXTURE_KEYS_DIR = fileURLToPath(new URL('../../fixtures/keys/', import.meta.url));
export const FIXTURE_MANIFESTS_DIR = fileURLToPath(new URL('../../fixtures/manifests/', import.meta.url));
export const FIXTURE_TRUST_STORE = path.join(FIXTURE_KEYS_DIR, 'trust-store.TEST-ONLY.json');

export interface TestKeys {
  /** Temporary directory holding mode-0600 copies of fixtures/keys/*.TEST-ONLY.key and the .pub files. */
  dir: string;
  /** Path of the 0600 copy of `<kid>.TEST-ONLY.key`. */
  keyFile(kid: string): string;
  pubFile(kid: string): string;
  key(kid: string): PrivateKey;
  trustStoreFile: string;
  trustStore(): TrustStore;
}

/**
 * The committed test-only keys, usable by the private-key loader. Git keeps no permission
 * bits but x, so a fresh clone has the .key files at 0644 and the loader rightly refuses
 * them; tests copy them into a temporary directory and chmod the copies to 0600 there.
 */
export function testKeys(t: { teardown: (fn: () => void) => void }): TestKeys {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctop-test-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of readdirSync(FIXTURE_KEYS_DIR)) {
    const target = path.join(dir, name);
    copyFileSync(path.join(FIXTURE_KEYS_DIR, name), target);
    chmodSync(target, name.endsWith('.key') ? 0o600 : 0o644);
  }
  const keyFile = (kid: string) => path.join(dir, `${kid}.TEST-ONLY.key`);
  const trustStoreFile = path.join(dir, 'trust-store.TEST-ONLY.json');
  return {
    dir,
    keyFile,
    pubFile: (kid) => path.join(dir, `${kid}.TEST-ONLY.pub`),
    key: (kid) => loadPrivateKey(keyFile(kid)),
    trustStoreFile,
    trustStore: () => TrustStore.load(trustStoreFile),
  };
}
