#!/usr/bin/env node
// The package registry this project installs from lacks some platform binaries of
// optional dependencies (e.g. @biomejs/cli-darwin-arm64@2.6.8). `npm install` then leaves
// them out of package-lock.json, and `npm ci` on a fresh clone refuses the lock as "out of
// sync". This adds the missing optional platform entries (version, os, cpu only: nothing
// to fetch on this platform), so `npm ci` works. Run after `npm install` changes the lock;
// test/lockfile.test.ts fails until you do. `--check` only reports.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const missing = [];
for (const [path, pkg] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${path}/${key}`]) continue;
    const m = name.match(/(android|darwin|linux|win32|freebsd)-(arm64|x64|arm|ia32)(-musl|-gnu)?$/);
    if (!m) continue;
    missing.push(key);
    packages[key] = {
      version: spec.replace(/^[\^~=]/, ''),
      ...(pkg.dev ? { dev: true } : {}),
      optional: true,
      os: [m[1]],
      cpu: [m[2]],
      ...(m[3] === '-musl' ? { libc: ['musl'] } : {}),
    };
  }
}
if (process.argv.includes('--check')) {
  if (missing.length > 0) {
    console.error(
      `package-lock.json lacks ${missing.length} optional platform entries; run: node scripts/lockfile-platforms.mjs`,
    );
    process.exit(1);
  }
  process.exit(0);
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(missing.length ? `added ${missing.join(', ')}` : 'package-lock.json complete');
