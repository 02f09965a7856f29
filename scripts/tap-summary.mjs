#!/usr/bin/env node
// Turns tap's closing `# { total: N, pass: N, fail: N, ... }` line into the one line CI
// reads: "N passed, N failed". Anything unreadable counts as a failure, never a pass.
// An optional second argument is the exit status of the system soak, counted as one check.
// Before that line it lists every failed test with its path of subtests and where it
// failed: a CI record often keeps only the tail of a run, and a red run must say what broke.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2] ?? 0, 'utf8');
const totals = [...text.matchAll(/^# (\{ total: .*\})\s*$/gm)].at(-1)?.[1];
const soak = process.argv[3];
const soakPass = soak === undefined ? 0 : soak === '0' ? 1 : 0;
const soakFail = soak === undefined ? 0 : soak === '0' ? 0 : 1;

for (const line of failures(text)) console.log(line);

if (!totals) {
  console.log(`${soakPass} passed, ${1 + soakFail} failed`);
  process.exit(0);
}
const field = (name) => Number(totals.match(new RegExp(`\\b${name}: (\\d+)`))?.[1] ?? 0);
const total = field('total');
const pass = field('pass');
const fail = field('fail') || Math.max(0, total - pass - field('skip') - field('todo'));
console.log(`${pass + soakPass} passed, ${fail + soakFail} failed`);

/**
 * The failed leaves of the TAP stream, each as "FAILED file › subtest › assertion" with the
 * file:line tap gives and the first lines of its diagnostic. A subtest's name comes from its
 * `# Subtest:` line, which precedes its body at the same indent as its own `ok` line.
 */
function failures(tap) {
  const lines = tap.split('\n');
  const out = [];
  const open = []; // subtest names by depth (indent / 4)
  let shown = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const depth = (line.length - line.trimStart().length) / 4;
    const sub = line.match(/^\s*# Subtest: (.*)$/);
    if (sub) {
      open.length = depth;
      open[depth] = sub[1];
      continue;
    }
    const fail = line.match(/^\s*not ok \d+ - (.*?)(?: # (?:time=.*|TODO.*|SKIP.*))?$/);
    if (!fail || /# (TODO|SKIP)/.test(line)) continue;
    // A parent fails because a child did: list only leaves (no deeper failure just above).
    if (hasFailedChild(lines, i, depth)) continue;
    if (shown++ >= 20) continue;
    const diag = readDiag(lines, i + 1, depth);
    const path = [...open.slice(0, depth).filter(Boolean), fail[1]].join(' › ');
    out.push(`FAILED ${path}${diag.at ? ` (${diag.at})` : ''}`);
    for (const d of diag.text.slice(0, 6)) out.push(`    ${d}`);
  }
  if (shown > 20) out.push(`… and ${shown - 20} more failures`);
  return out;
}

function readDiag(lines, from, depth) {
  const indent = ' '.repeat(depth * 4 + 2);
  if (lines[from]?.trimEnd() !== `${indent}---`) return { text: [] };
  const text = [];
  let file;
  let lineNo;
  for (let j = from + 1; j < lines.length && lines[j].trimEnd() !== `${indent}...`; j++) {
    const l = lines[j].slice(indent.length);
    file ??= l.match(/^\s+fileName: (.*)$/)?.[1];
    lineNo ??= l.match(/^\s+lineNumber: (\d+)$/)?.[1];
    // Inline values only: block scalars (stack, diff) are too long for a summary.
    if (/^(found|wanted|error|message|code|signal|expected|actual): (?![|>]-?$)/.test(l))
      text.push(l.trimEnd());
  }
  return { at: file ? `${file}${lineNo ? `:${lineNo}` : ''}` : undefined, text };
}

function hasFailedChild(lines, i, depth) {
  const child = ' '.repeat((depth + 1) * 4);
  for (let j = i - 1; j >= 0; j--) {
    const l = lines[j];
    if (l.trim() === '') continue;
    if (!l.startsWith(child)) return false;
    if (l.startsWith(`${child}not ok `)) return true;
  }
  return false;
}
