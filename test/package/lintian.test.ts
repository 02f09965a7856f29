import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { testPackages } from '../helpers/deb-package.js';

/**
 * The package as Debian's tools judge it: lintian finds no error, and every warning it
 * gives is listed with its reason in docs/PACKAGING.md; dpkg-deb shows what it holds and
 * what it depends on — Node.js 20 and libraries, nothing that compiles.
 */

t.setTimeout(900_000);
const PACKAGING = readFileSync(fileURLToPath(new URL('../../docs/PACKAGING.md', import.meta.url)), 'utf8');
const packages = await testPackages();
t.comment(
  `${packages.reused ? 'reused' : 'built'} ${packages.first}: ${(packages.bytes / 1048576).toFixed(1)} MiB; npm run package ${packages.buildSeconds.toFixed(0)} s, the second build ${packages.rebuildSeconds.toFixed(0)} s`,
);

function deb(...args: string[]): string {
  const res = spawnSync('dpkg-deb', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`dpkg-deb ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

t.test('lintian: no errors; each warning listed and justified in docs/PACKAGING.md', async (t) => {
  const started = Date.now();
  const res = spawnSync('lintian', ['--tag-display-limit', '0', packages.first], { encoding: 'utf8' });
  t.comment(`lintian took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const tags = res.stdout.split('\n').filter((l) => /^[EWIPXO]: /.test(l));
  t.same(
    tags.filter((l) => l.startsWith('E:')),
    [],
    'no errors',
  );
  t.equal(
    res.status,
    0,
    `lintian exit 0 (stderr: ${res.stderr.replace(/running with root privileges is not recommended!\n?/, '')})`,
  );
  const warnings = [...new Set(tags.filter((l) => l.startsWith('W:')).map((l) => l.split(' ')[2]!))];
  for (const tag of warnings)
    t.match(PACKAGING, `\`${tag}\``, `warning ${tag} is listed in docs/PACKAGING.md`);
  t.comment(`warnings: ${warnings.join(', ') || 'none'}`);
});

t.test('what the package holds and depends on', async (t) => {
  const fields = (name: string) => deb('--field', packages.first, name).trim();
  t.equal(fields('Package'), 'ctop-agent');
  t.equal(fields('Version'), packages.version);
  const depends = fields('Depends');
  t.match(depends, 'nodejs (>= 20.15), nodejs (<< 21)', 'Node.js 20, the ABI the add-ons are built for');
  t.match(depends, /libc6 \(>= [\d.]+\)/, 'the libraries the add-ons link (dpkg-shlibdeps)');
  t.notMatch(
    depends,
    /\b(gcc|g\+\+|make|python3?|node-gyp|build-essential|libc6-dev|npm)\b/,
    'nothing that compiles',
  );
  t.equal(
    deb('--info', packages.first, 'conffiles').trim(),
    '/etc/ctop-agent/config.yaml',
    'the configuration is a conffile',
  );

  const files = deb('--contents', packages.first)
    .split('\n')
    .map((l) =>
      l
        .split(/\s+/)
        .slice(5)
        .join(' ')
        .replace(/ -> .*/, ''),
    )
    .filter(Boolean);
  for (const file of [
    './usr/bin/ctop-agent',
    './usr/lib/ctop-agent/dist/src/cli/main.js',
    './usr/lib/ctop-agent/package.json',
    './usr/lib/ctop-agent/src/console/assets/console.css',
    './usr/lib/ctop-agent/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    './lib/systemd/system/ctop-agent.service',
    './etc/ctop-agent/config.yaml',
    './usr/share/man/man1/ctop-agent.1.gz',
    './usr/share/doc/ctop-agent/copyright',
    './usr/share/doc/ctop-agent/OPERATIONS.md.gz',
    './usr/share/doc/ctop-agent/examples/prometheus-rules.yaml',
    './usr/share/doc/ctop-agent/examples/grafana-dashboard.json',
  ]) {
    t.ok(files.includes(file), file);
  }
  const sources = files.filter((f) => /\/node_modules\/.*\.(c|cc|cpp|h|gyp)$/.test(f));
  t.same(sources, [], 'no C sources or gyp files: nothing is built at install');
  const foreign = files.filter((f) => /\/prebuilds\/(?!linux-x64\/)[^/]+\//.test(f) || /musl/.test(f));
  t.same(foreign, [], "no other platforms' prebuilt add-ons");
  t.notOk(
    files.some((f) => f.endsWith('.map') || f.includes('/node_modules/.bin/')),
    'no source maps, no .bin',
  );
  t.notOk(
    files.some((f) => /\/node_modules\/(typescript|tap|@biomejs|c8|fast-check|tsx)\//.test(f)),
    'no development packages',
  );
});
