#!/usr/bin/env node
// Installs the Debian packages the tests need when they are missing (DEVELOPERS rule 5):
// CI and new machines start bare. Plain .mjs so it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package -> a file that proves it is installed. */
const required = {
  mosquitto: '/usr/sbin/mosquitto',
  // The second broker of the sync tests: ejabberd's MQTT service (test/helpers/ejabberd.ts).
  ejabberd: '/usr/sbin/ejabberdctl',
  socat: '/usr/bin/socat',
  openssl: '/usr/bin/openssl',
  // The officers' console is tested in a real browser (playwright-core drives it).
  chromium: '/usr/bin/chromium',
  // Chinese in the console's pages (goods as written, the zh catalogue) is drawn with it in
  // the browser tests, not as empty boxes.
  'fonts-noto-cjk': '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  // systemd-analyze verify/security judge the unit (systemd/ctop-agent.service).
  systemd: '/usr/bin/systemd-analyze',
  // The soak steps the daemon's wall clock with libfaketime (docs/SOAK.md).
  faketime: '/usr/bin/faketime',
  // The Debian package (docs/PACKAGING.md): npm run package builds it with dpkg-deb, works out
  // its library Depends with dpkg-shlibdeps and strips the add-ons; lintian judges it; the
  // install test needs what its Depends and maintainer scripts need already installed (the
  // test root has no network), and man to read its manual page.
  'dpkg-dev': '/usr/bin/dpkg-shlibdeps',
  binutils: '/usr/bin/strip',
  lintian: '/usr/bin/lintian',
  adduser: '/usr/sbin/adduser',
  'init-system-helpers': '/usr/bin/deb-systemd-helper',
  'man-db': '/usr/bin/man',
  // promtool checks and unit-tests systemd/prometheus-rules.yaml.
  prometheus: '/usr/bin/promtool',
};

// More on the command line as package=probe (scripts/ci-under-load.sh asks for stress-ng).
for (const arg of process.argv.slice(2)) {
  const [pkg, probe] = arg.split('=');
  if (!pkg || !probe) {
    console.error(`expected package=/path/proving/it/is/installed, got ${arg}`);
    process.exit(2);
  }
  required[pkg] = probe;
}

const missing = Object.entries(required)
  .filter(([, probe]) => !existsSync(probe))
  .map(([pkg]) => pkg);

if (missing.length === 0) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error(
    `missing Debian packages: ${missing.join(' ')}; install them with: sudo apt-get install -y ${missing.join(' ')}`,
  );
  process.exit(1);
}

const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env }).status;
console.error(`installing Debian packages: ${missing.join(' ')}`);
if (
  run(['update', '-qq']) !== 0 ||
  run(['install', '-y', '-qq', '--no-install-recommends', ...missing]) !== 0
) {
  console.error('apt-get failed; install the packages by hand and run the tests again');
  process.exit(1);
}

// Debian starts the system ejabberd on install where systemd runs (not in a container): an
// XMPP and MQTT server on every interface. The tests start their own on loopback; the
// system one, installed only for them, is stopped and kept from starting at boot.
if (missing.includes('ejabberd') && existsSync('/run/systemd/system')) {
  spawnSync('systemctl', ['disable', '--now', 'ejabberd.service'], { stdio: 'ignore' });
}
