#!/usr/bin/env node
// Turns tap's closing `# { total: N, pass: N, fail: N, ... }` line into the one line CI
// reads: "N passed, N failed". Anything unreadable counts as a failure, never a pass.
// An optional second argument is the exit status of the system soak, counted as one check.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2] ?? 0, 'utf8');
const totals = [...text.matchAll(/^# (\{ total: .*\})\s*$/gm)].at(-1)?.[1];
const soak = process.argv[3];
const soakPass = soak === undefined ? 0 : soak === '0' ? 1 : 0;
const soakFail = soak === undefined ? 0 : soak === '0' ? 0 : 1;
if (!totals) {
  console.log(`${soakPass} passed, ${1 + soakFail} failed`);
  process.exit(0);
}
const field = (name) => Number(totals.match(new RegExp(`\\b${name}: (\\d+)`))?.[1] ?? 0);
const total = field('total');
const pass = field('pass');
const fail = field('fail') || Math.max(0, total - pass - field('skip') - field('todo'));
console.log(`${pass + soakPass} passed, ${fail + soakFail} failed`);
