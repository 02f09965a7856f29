/**
 * Writes firmware-protocol/vectors/*.json: wire lines a conforming implementation must
 * produce or reject, derived from fixed keys and fixed inputs so the output never changes
 * unless the protocol does; and the code blocks of firmware-protocol/EXCHANGE.md §11 (the
 * exchange vectors, built from the values its text gives). `npm run vectors`;
 * test/lock/codec/vectors.test.ts and test/exchange-wire/exchange-spec.test.ts fail if this
 * script would write something different.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { buildExchangeVectors, withExchangeVectors } from './lib/exchange-vectors.js';
import { buildVectors } from './lib/protocol-vectors.js';

const dir = new URL('../firmware-protocol/vectors/', import.meta.url);
// Build first: a generator that fails must not leave the folder empty.
const vectors = buildVectors();
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(new URL(f, dir));
for (const v of vectors) writeFileSync(new URL(`${v.name}.json`, dir), `${JSON.stringify(v, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${dir.pathname}`);

const exchangeDoc = new URL('../firmware-protocol/EXCHANGE.md', import.meta.url);
const exchangeVectors = buildExchangeVectors();
writeFileSync(exchangeDoc, withExchangeVectors(readFileSync(exchangeDoc, 'utf8'), exchangeVectors));
console.log(`wrote ${exchangeVectors.length} vectors into ${exchangeDoc.pathname}`);
