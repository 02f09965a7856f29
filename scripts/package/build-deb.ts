/**
 * `npm run package [-- options]`: builds ctop-agent_<version>_<arch>.deb with dpkg-deb from
 * this checkout as built here (docs/PACKAGING.md). Prints the path of the package.
 *
 *   --out <dir>        where the .deb goes (default var/package)
 *   --version <v>      the Debian version (default package.json's)
 *   --stage <dir>      where the file tree is assembled (default a temporary directory, removed)
 *   --reuse-stage      the stage already holds the program and its modules (from a build with
 *                      --stage): only the version-dependent files are written again
 *   --no-build         do not run `npm run build` first (dist/ is current)
 *   --compress <c>     xz (default), gzip or zstd, passed to dpkg-deb -Z
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { CONFFILES, changelog, controlFile, installedSizeKiB, md5sums, shlibsDepends } from './control.js';
import { renderManPage } from './man-page.js';
import {
  normaliseModes,
  PREFIX,
  type StageContext,
  stageModules,
  stageProgram,
  stageSystem,
  walk,
} from './stage.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_MAINTAINER = 'ctop-agent maintainers <ctop-agent@ctop-agent.example>';
const MAINTAINER_SCRIPTS = ['postinst', 'prerm', 'postrm'];

export interface BuildOptions {
  out: string;
  version?: string;
  stage?: string;
  reuseStage?: boolean;
  build?: boolean;
  compress?: 'xz' | 'gzip' | 'zstd';
}

function git(args: string[], fallback: string): string {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return fallback;
  }
}

/** Native add-ons load only in the Node ABI they were compiled for: the one running this build. */
function checkBuildNode(): void {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major !== 20 || minor < 15) {
    throw new Error(
      `this build runs on Node ${process.versions.node}; the package declares nodejs (>= 20.15, << 21), and its native modules are compiled for the Node that runs npm ci — build with Node 20.15 or later 20.x`,
    );
  }
}

/** package.json, the changelog, the manual page and DEBIAN/: everything that names the version. */
function assemble(ctx: StageContext, program: Command, maintainer: string, epoch: number): void {
  const pkgFile = path.join(ctx.stage, PREFIX, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string };
  pkg.version = ctx.version;
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  const date = new Date(epoch * 1000).toISOString().slice(0, 10);
  const manPage = renderManPage(program, { version: ctx.version, date });
  const commit = git(['rev-parse', '--short=12', 'HEAD'], 'unknown');
  stageSystem(ctx, manPage, changelog(ctx.version, maintainer, epoch, commit));
  normaliseModes(ctx.stage);

  const debian = path.join(ctx.stage, 'DEBIAN');
  rmSync(debian, { recursive: true, force: true });
  mkdirSync(debian, { mode: 0o755 });
  for (const script of MAINTAINER_SCRIPTS) {
    copyFileSync(path.join(ROOT, 'packaging/deb', script), path.join(debian, script));
    chmodSync(path.join(debian, script), 0o755);
  }
  writeFileSync(path.join(debian, 'conffiles'), `${CONFFILES.join('\n')}\n`);
  const objects = [...walk(path.join(ctx.stage, PREFIX))].filter((f) => f.endsWith('.node'));
  const control = controlFile({
    version: ctx.version,
    arch: ctx.arch,
    shlibs: shlibsDepends(objects),
    installedSizeKiB: installedSizeKiB(ctx.stage),
    maintainer,
  });
  writeFileSync(path.join(debian, 'control'), control);
  writeFileSync(path.join(debian, 'md5sums'), md5sums(ctx.stage));
  for (const file of ['control', 'conffiles', 'md5sums']) chmodSync(path.join(debian, file), 0o644);
}

/**
 * Runs the staged program before it is packed: the CLI loads every command module (and so
 * every dependency it imports), checks the example configuration, and opens a SQLite
 * database through the staged add-on. A file pruned too eagerly fails here, not on a gateway.
 */
function smokeTest(stage: string): void {
  const prefix = path.join(stage, PREFIX);
  const cli = path.join(prefix, 'dist/src/cli/main.js');
  const run = (args: string[]) =>
    execFileSync(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH },
    });
  run([cli, '--help']);
  run([cli, 'config', 'check', '--syntax-only', '--quiet', path.join(ROOT, 'systemd/config.example.yaml')]);
  const sqlite =
    "const D = require(process.argv[1]); const db = new D(':memory:'); if (db.prepare('select 41 + 1 as n').get().n !== 42) process.exit(1);";
  run(['-e', sqlite, path.join(prefix, 'node_modules/better-sqlite3')]);
}

/** Runs one step of the build and says on stderr how long it took (docs/PACKAGING.md, "Figures"). */
function phase<T>(name: string, step: () => T): T {
  const started = Date.now();
  const result = step();
  process.stderr.write(`  ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return result;
}

export async function buildDeb(options: BuildOptions): Promise<string> {
  // Every command registered (no argv: the CLI loads all its modules) for the manual page.
  const program = await buildProgram();
  checkBuildNode();
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const version = options.version ?? pkg.version;
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version))
    throw new Error(`not a Debian version for a native package: ${version}`);
  const maintainer =
    process.env.DEBFULLNAME && process.env.DEBEMAIL
      ? `${process.env.DEBFULLNAME} <${process.env.DEBEMAIL}>`
      : DEFAULT_MAINTAINER;
  const epoch =
    Number(process.env.SOURCE_DATE_EPOCH ?? git(['log', '-1', '--format=%ct'], '')) ||
    Math.floor(Date.now() / 1000);

  const temporary = options.stage === undefined;
  const stage = options.stage ?? mkdtempSync(path.join(os.tmpdir(), 'ctop-deb-'));
  const ctx: StageContext = { root: ROOT, stage, arch, version };
  try {
    if (!options.reuseStage || !existsSync(path.join(stage, PREFIX, 'node_modules'))) {
      if (options.build !== false)
        phase('npm run build', () =>
          execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' }),
        );
      rmSync(stage, { recursive: true, force: true });
      mkdirSync(stage, { recursive: true });
      phase('program', () => stageProgram(ctx));
      phase('node_modules', () => stageModules(ctx));
      phase('smoke test', () => smokeTest(stage));
    }
    phase('docs, manual page, DEBIAN/', () => assemble(ctx, program, maintainer, epoch));
    mkdirSync(options.out, { recursive: true });
    const deb = path.join(options.out, `ctop-agent_${version}_${arch}.deb`);
    phase(`dpkg-deb -Z${options.compress ?? 'xz'}`, () =>
      execFileSync(
        'dpkg-deb',
        ['--root-owner-group', `-Z${options.compress ?? 'xz'}`, '--build', stage, deb],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
        },
      ),
    );
    return deb;
  } finally {
    if (temporary) rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(ROOT, 'var/package') },
      version: { type: 'string' },
      stage: { type: 'string' },
      'reuse-stage': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      compress: { type: 'string', default: 'xz' },
    },
  });
  if (!['xz', 'gzip', 'zstd'].includes(values.compress!)) throw new Error('--compress: xz, gzip or zstd');
  const started = Date.now();
  const deb = await buildDeb({
    out: path.resolve(values.out!),
    ...(values.version ? { version: values.version } : {}),
    ...(values.stage ? { stage: path.resolve(values.stage) } : {}),
    reuseStage: values['reuse-stage']!,
    build: !values['no-build'],
    compress: values.compress as BuildOptions['compress'],
  });
  const size = Number(execFileSync('stat', ['-c', '%s', deb], { encoding: 'utf8' }).trim());
  process.stdout.write(`${deb}\n`);
  process.stderr.write(
    `built ${path.basename(deb)}: ${(size / 1048576).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
}
