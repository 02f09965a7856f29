import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * The file tree of the package (docs/PACKAGING.md lists it): the program under
 * /usr/lib/ctop-agent with its production node_modules, /usr/bin/ctop-agent, the unit, the
 * configuration (a conffile), documentation and examples. Everything is copied from the
 * checkout as built; nothing is compiled here.
 */

export const PREFIX = 'usr/lib/ctop-agent';
export const DOC_DIR = 'usr/share/doc/ctop-agent';

/** dpkg architecture → the platform directory of node-gyp-build prebuilds. */
const PREBUILD_PLATFORM: Record<string, string> = {
  amd64: 'linux-x64',
  arm64: 'linux-arm64',
  armhf: 'linux-arm',
};

export interface StageContext {
  /** The checkout. */
  root: string;
  /** The package's root directory (becomes /). */
  stage: string;
  arch: string;
  version: string;
}

function write(file: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

/** dist/src without source maps, the console's assets, and package.json naming this version. */
export function stageProgram(ctx: StageContext): void {
  const prefix = path.join(ctx.stage, PREFIX);
  cpSync(path.join(ctx.root, 'dist/src'), path.join(prefix, 'dist/src'), {
    recursive: true,
    filter: (src) => !src.endsWith('.map') && !src.endsWith('.tsbuildinfo'),
  });
  cpSync(path.join(ctx.root, 'src/console/assets'), path.join(prefix, 'src/console/assets'), {
    recursive: true,
  });
  // The CLI's entry point has a #! line; the package starts it as `node main.js` all the same.
  chmodSync(path.join(prefix, 'dist/src/cli/main.js'), 0o755);
  const pkg = JSON.parse(readFileSync(path.join(ctx.root, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const shipped = {
    name: pkg.name,
    version: ctx.version,
    description: pkg.description,
    license: pkg.license,
    private: true,
    type: pkg.type,
    engines: pkg.engines,
    bin: pkg.bin,
    dependencies: pkg.dependencies,
    overrides: pkg.overrides,
  };
  write(path.join(prefix, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  write(
    path.join(ctx.stage, 'usr/bin/ctop-agent'),
    readFileSync(path.join(ctx.root, 'packaging/deb/ctop-agent.sh')),
    0o755,
  );
}

/**
 * What `npm prune --omit=dev` would keep, read from the lockfile: every installed package not
 * marked dev (optional ones included where npm installed them for this platform). Copying
 * only these is what keeps the build short: the development tree is three times the size.
 */
export function productionPackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && !entry.dev && !entry.link)
    .map(([key]) => key)
    .filter((key) => existsSync(path.join(root, key)))
    .sort();
}

/**
 * The checkout's node_modules, built by `npm ci` on this machine (native modules compiled
 * for this architecture and Node ABI), pruned to what runs: no development packages, no
 * prebuilt binaries for other platforms, no native build trees or C sources, no tests or
 * package documentation (licences stay).
 */
export function stageModules(ctx: StageContext): void {
  const prefix = path.join(ctx.stage, PREFIX);
  cpSync(path.join(ctx.root, 'package-lock.json'), path.join(prefix, 'package-lock.json'));
  for (const pkg of productionPackages(ctx.root)) {
    const from = path.join(ctx.root, pkg);
    const nested = path.join(from, 'node_modules');
    // A package's own node_modules holds other packages, copied (or not) as entries of their own.
    cpSync(from, path.join(prefix, pkg), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => src !== nested,
    });
  }
  const platform = PREBUILD_PLATFORM[ctx.arch];
  if (!platform) throw new Error(`no prebuild platform known for architecture ${ctx.arch}`);
  pruneTree(path.join(prefix, 'node_modules'), platform);
  for (const [rel] of NEVER_LOADED)
    rmSync(path.join(prefix, 'node_modules', rel), { recursive: true, force: true });
  for (const file of walk(path.join(prefix, 'node_modules'))) {
    if (file.endsWith('.node'))
      execFileSync('strip', ['--strip-unneeded', '--remove-section=.comment', file]);
  }
}

/** Parts of particular modules that never load on a Linux gateway, and why. */
export const NEVER_LOADED: readonly [string, string][] = [
  ['@stoprocent/noble/build', "noble's own add-on is its macOS/Windows radio; on Linux it talks HCI"],
  ['@stoprocent/noble/prebuilds', 'the same add-on, prebuilt'],
  ['better-sqlite3/build/Release/test_extension.node', "a fixture of better-sqlite3's own tests"],
];

/**
 * Directories removed at the top of a package (beside its package.json) only: deeper down the
 * same names can be code (yaml's dist/doc/ is its document model).
 */
const JUNK_DIRS = new Set([
  'test',
  'tests',
  '__tests__',
  '.github',
  'benchmark',
  'benchmarks',
  'bench',
  'integration',
  'coverage',
]);
/** Packages that are only ever used to compile add-ons: C++ headers (nothing requires them). */
const BUILD_ONLY_PACKAGES = new Set(['node-addon-api']);
const JUNK_FILE =
  /(\.md|\.markdown|\.map|\.[mc]?ts|\.tsbuildinfo|\.gyp|\.gypi|\.mk|\.cc|\.cpp|\.c|\.h|\.hpp|\.o|\.a|\.yml|\.yaml|\.html|\.npmignore|\.gitattributes|\.eslintrc(\.json)?|\.editorconfig|\.prettierrc|\.travis\.yml|Makefile|tsconfig\.json|\.DS_Store)$/i;
const KEEP_FILE = /^(licen[cs]e|copying|notice|authors)/i;

function pruneTree(dir: string, platform: string): void {
  const native = existsSync(path.join(dir, 'binding.gyp'));
  const packageRoot = existsSync(path.join(dir, 'package.json'));
  const modulesDir = path.basename(dir) === 'node_modules';
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      if (
        (packageRoot && JUNK_DIRS.has(entry.name)) ||
        (modulesDir && (entry.name === '.bin' || BUILD_ONLY_PACKAGES.has(entry.name)))
      ) {
        rmSync(full, { recursive: true, force: true });
        continue;
      }
      if (entry.name === 'prebuilds') {
        prunePrebuilds(full, platform);
        continue;
      }
      if (entry.name === 'build' && existsSync(path.join(full, 'Release'))) {
        pruneNativeBuild(full);
        continue;
      }
      // Native sources (better-sqlite3's deps/ holds the SQLite amalgamation, 9 MB of C).
      if (native && ['deps', 'src', 'libusb'].includes(entry.name)) {
        rmSync(full, { recursive: true, force: true });
        continue;
      }
      pruneTree(full, platform);
      // A directory left empty by the pruning goes too.
      if (readdirSync(full).length === 0) rmSync(full, { recursive: true });
      continue;
    }
    if (KEEP_FILE.test(entry.name)) continue;
    // Add-ons for musl outside a prebuilds/ directory: @cbor-extract/cbor-extract-linux-x64,
    // which npm installs for cbor-extract when the registry has it, ships both kinds side by side.
    if (JUNK_FILE.test(entry.name) || /musl.*\.node$/.test(entry.name)) rmSync(full, { force: true });
  }
}

/** Keeps only this platform's glibc binaries. */
function prunePrebuilds(dir: string, platform: string): void {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (entry !== platform) {
      rmSync(full, { recursive: true, force: true });
      continue;
    }
    // musl builds, and add-ons for the Bare runtime (sodium-native ships both kinds).
    for (const file of readdirSync(full))
      if (/musl|\.bare$/.test(file)) rmSync(path.join(full, file), { force: true });
  }
}

/** build/Release/<module>.node is what loads; the objects and makefiles beside it are not. */
function pruneNativeBuild(dir: string): void {
  for (const entry of readdirSync(dir)) {
    if (entry !== 'Release') rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  const release = path.join(dir, 'Release');
  for (const entry of readdirSync(release)) {
    if (!entry.endsWith('.node')) rmSync(path.join(release, entry), { recursive: true, force: true });
  }
}

export function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}

/** Gzips a documentation file the way Debian policy asks (§12.3: -9, no name, no time stamp). */
function writeGzipped(file: string, content: Buffer): void {
  write(`${file}.gz`, gzipSync(content, { level: 9 }));
}

/**
 * The systemd unit, the configuration (a conffile), the manual page, the documentation,
 * the copyright and changelog files, and the examples: the alert rules and the dashboard.
 */
export function stageSystem(ctx: StageContext, manPage: string, changelog: string): void {
  const from = (p: string) => readFileSync(path.join(ctx.root, p));
  write(path.join(ctx.stage, 'lib/systemd/system/ctop-agent.service'), from('systemd/ctop-agent.service'));
  write(path.join(ctx.stage, 'etc/ctop-agent/config.yaml'), from('systemd/config.example.yaml'));
  writeGzipped(path.join(ctx.stage, 'usr/share/man/man1/ctop-agent.1'), Buffer.from(manPage));
  const doc = path.join(ctx.stage, DOC_DIR);
  write(path.join(doc, 'copyright'), from('packaging/deb/copyright'));
  write(
    path.join(ctx.stage, 'usr/share/lintian/overrides/ctop-agent'),
    from('packaging/deb/lintian-overrides'),
  );
  writeGzipped(path.join(doc, 'changelog'), Buffer.from(changelog));
  writeGzipped(path.join(doc, 'README.md'), from('README.md'));
  for (const file of readdirSync(path.join(ctx.root, 'docs')).filter((f) => f.endsWith('.md'))) {
    writeGzipped(path.join(doc, file), from(`docs/${file}`));
  }
  for (const file of ['config.example.yaml', 'prometheus-rules.yaml', 'grafana-dashboard.json']) {
    write(path.join(doc, 'examples', file), from(`systemd/${file}`));
  }
}

/** Starts with #!: a script, which is executable (and nothing else is: add-ons are loaded, not run). */
function isScript(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
  } finally {
    closeSync(fd);
  }
}

/**
 * Modes as dpkg expects them: directories 0755, scripts 0755, every other file 0644 (npm
 * packages ship many stray executable bits). What the agent needs is set by postinst.
 */
export function normaliseModes(stage: string): void {
  const visit = (dir: string) => {
    chmodSync(dir, 0o755);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile()) chmodSync(full, isScript(full) ? 0o755 : 0o644);
    }
  };
  visit(stage);
}
