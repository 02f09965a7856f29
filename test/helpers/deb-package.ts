/**
 * The Debian packages the package tests use, built once per change of what goes into them
 * (`npm run package`, then a second build of the same tree under a higher version for the
 * upgrade test) and shared by every test file of a run: the first file to need them builds
 * them under a lock, the others wait and reuse them (var/package/test/<key>/).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = path.join(ROOT, 'var/package/test');
/** What the package is made of; a change to any of these builds it again. */
const INPUTS = [
  'src',
  'scripts/package',
  'packaging',
  'systemd',
  'docs',
  'README.md',
  'package.json',
  'package-lock.json',
];

export interface TestPackages {
  version: string;
  /** The same tree under a higher version, for the upgrade. */
  nextVersion: string;
  first: string;
  next: string;
  /** Seconds `npm run package` took for the first build, and for the second (stage reused). */
  buildSeconds: number;
  rebuildSeconds: number;
  bytes: number;
  /** Built by an earlier test file or run (the figures are that build's). */
  reused: boolean;
}

function inputKey(): string {
  const hash = createHash('sha256').update(`${process.versions.node} ${process.arch}\n`);
  const files = spawnSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...INPUTS],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
    .stdout.split('\n')
    .filter(Boolean)
    .sort();
  for (const file of files) {
    const full = path.join(ROOT, file);
    if (!existsSync(full)) continue;
    hash.update(`${file}\n`).update(readFileSync(full));
  }
  return hash.digest('hex').slice(0, 16);
}

function npmPackage(args: string[]): number {
  const started = Date.now();
  const res = spawnSync('npm', ['run', '--silent', 'package', '--', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (res.status !== 0)
    throw new Error(`npm run package ${args.join(' ')} failed (${res.status}):\n${res.stderr}`);
  return (Date.now() - started) / 1000;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the build lock, or returns false while another live process holds it. */
function lock(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    const holder = Number(readFileSync(file, 'utf8')) || 0;
    if (holder > 0 && pidAlive(holder)) return false;
    rmSync(file, { force: true });
    return lock(file);
  }
}

export async function testPackages(): Promise<TestPackages> {
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  const nextVersion = `${version}+rebuild1`;
  const dir = path.join(CACHE, inputKey());
  const done = path.join(dir, 'build.json');
  mkdirSync(CACHE, { recursive: true });
  const lockFile = path.join(CACHE, '.lock');
  for (;;) {
    if (existsSync(done))
      return { ...(JSON.parse(readFileSync(done, 'utf8')) as TestPackages), reused: true };
    if (lock(lockFile)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    if (existsSync(done))
      return { ...(JSON.parse(readFileSync(done, 'utf8')) as TestPackages), reused: true };
    for (const old of readdirSync(CACHE))
      if (old !== '.lock') rmSync(path.join(CACHE, old), { recursive: true, force: true });
    const stage = path.join(dir, 'stage');
    // dist/ is current: tap's `before` step built it (test/helpers/build-program.ts), and a
    // second tsc here would rewrite files other tests' processes are loading.
    const buildSeconds = npmPackage(['--out', dir, '--stage', stage, '--no-build']);
    const rebuildSeconds = npmPackage([
      '--out',
      dir,
      '--stage',
      stage,
      '--reuse-stage',
      '--version',
      nextVersion,
      // Only the upgrade installs it: the faster compressor will do.
      '--compress',
      'gzip',
    ]);
    rmSync(stage, { recursive: true, force: true });
    const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
    const first = path.join(dir, `ctop-agent_${version}_${arch}.deb`);
    const built: TestPackages = {
      version,
      nextVersion,
      first,
      next: path.join(dir, `ctop-agent_${nextVersion}_${arch}.deb`),
      buildSeconds,
      rebuildSeconds,
      bytes: statSync(first).size,
      reused: false,
    };
    writeFileSync(done, JSON.stringify(built, null, 2));
    return built;
  } finally {
    rmSync(lockFile, { force: true });
  }
}
