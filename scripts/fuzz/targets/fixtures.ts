import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type PrivateKey, parseKeyFile, TrustStore } from '../../../src/keys/index.js';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

/** The committed manifests, valid and invalid, except the oversize one (its refusal is size, checked first). */
export function fixtureManifests(): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  for (const dir of ['fixtures/manifests/', 'fixtures/manifests/invalid/']) {
    for (const file of readdirSync(root(dir)).sort()) {
      if (!file.endsWith('.cose') || file === 'oversize.cose') continue;
      out.push({ name: file, bytes: readFileSync(root(`${dir}${file}`)) });
    }
  }
  return out;
}

/** A TEST-ONLY fixture key, parsed without the loader's file-mode check (a fresh clone has them 0644). */
export function fixtureKey(kid: string): PrivateKey {
  return parseKeyFile(readFileSync(root(`fixtures/keys/${kid}.TEST-ONLY.key`), 'utf8'), kid) as PrivateKey;
}

export function fixtureTrustStore(): TrustStore {
  return TrustStore.load(root('fixtures/keys/trust-store.TEST-ONLY.json'));
}

export function repoFile(p: string): string {
  return root(p);
}
