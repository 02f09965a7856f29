import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { tempDir } from '../helpers/store.js';

/** The unit as systemd itself judges it: `systemd-analyze verify` and `security` (offline). */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = path.join(ROOT, 'systemd/ctop-agent.service');
const ANALYZE = '/usr/bin/systemd-analyze';
const unitText = readFileSync(UNIT, 'utf8');

t.test('the unit has what the issue asks for', async (t) => {
  for (const line of [
    'Type=notify',
    'NotifyAccess=all',
    'WatchdogSec=60s',
    'Restart=always',
    'RestartPreventExitStatus=3',
    'User=ctop-agent',
    'StateDirectory=ctop-agent',
    'ProtectSystem=strict',
    'PrivateTmp=yes',
    'NoNewPrivileges=yes',
    'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN',
    'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN',
    'DevicePolicy=closed',
    'DeviceAllow=char-ttyUSB rw',
    'DeviceAllow=char-ttyACM rw',
    'ExecReload=/bin/kill -HUP $MAINPID',
  ]) {
    t.match(unitText, new RegExp(`^${line.replace(/[$]/g, '\\$')}$`, 'm'), line);
  }
  t.match(
    unitText,
    /^ExecStart=\S+ \/usr\/lib\/ctop-agent\/dist\/src\/cli\/main\.js daemon --config \/etc\/ctop-agent\/config\.yaml$/m,
  );
});

// systemd-analyze is installed by the pretest step (scripts/ensure-system-packages.mjs).
t.test('systemd-analyze verify accepts the unit', async (t) => {
  // verify insists that ExecStart's binary exists and is executable. Where the unit's
  // /usr/bin/node is not installed, the check runs on a copy naming the node running this
  // test instead — the only line that differs, and the test says so.
  const binary = /^ExecStart=(\S+)/m.exec(unitText)![1]!;
  let unit = UNIT;
  let executable = true;
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    executable = false;
  }
  if (!executable) {
    const dir = tempDir(t, 'ctop-unit-');
    unit = path.join(dir, 'ctop-agent.service');
    writeFileSync(unit, unitText.replace(`ExecStart=${binary} `, `ExecStart=${process.execPath} `));
    t.comment(`${binary} is not installed here: verified a copy with ExecStart=${process.execPath}`);
  }
  const res = spawnSync(ANALYZE, ['verify', unit], { encoding: 'utf8' });
  t.equal(res.status, 0, `verify exit status (stderr: ${res.stderr})`);
  t.equal(res.stderr.trim(), '', 'no warnings');

  // The check can fail: a unit with a mistake is refused.
  const dir = tempDir(t, 'ctop-unit-bad-');
  const bad = path.join(dir, 'ctop-agent.service');
  writeFileSync(
    bad,
    unitText.replace('Type=notify', 'Type=notyfy').replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/node'),
  );
  const refused = spawnSync(ANALYZE, ['verify', bad], { encoding: 'utf8' });
  t.not(refused.status, 0, 'a broken unit is refused');
  t.match(refused.stderr, /nonexistent/);
});

t.test('systemd-analyze security: exposure at most 3.0, as docs/OPERATIONS.md records', async (t) => {
  const res = spawnSync(ANALYZE, ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
  const m = /Overall exposure level for ctop-agent\.service: (\d+\.\d)/.exec(res.stdout);
  t.ok(m, `an overall score (stderr: ${res.stderr})`);
  const score = Number(m![1]);
  t.ok(score <= 3.0, `exposure ${score} ≤ 3.0`);
  const ops = readFileSync(path.join(ROOT, 'docs/OPERATIONS.md'), 'utf8');
  t.match(ops, `exposure level ${m![1]}`, 'the documented score is the current one');
});

t.test('install.sh stages the program, the unit and the configuration (DESTDIR)', async (t) => {
  // A checkout with a stand-in build, so the script's work is checked without compiling.
  const checkout = tempDir(t, 'ctop-checkout-');
  for (const file of [
    'systemd/install.sh',
    'systemd/ctop-agent.service',
    'systemd/config.example.yaml',
    'package.json',
    'package-lock.json',
    'docs/ERRORS.md',
  ]) {
    mkdirSync(path.dirname(path.join(checkout, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(checkout, file));
  }
  const install = (dest: string, src = checkout) =>
    spawnSync('bash', [path.join(src, 'systemd/install.sh'), '--no-modules'], {
      env: { ...process.env, DESTDIR: dest },
      encoding: 'utf8',
    });
  const dest = tempDir(t, 'ctop-install-');
  const unbuilt = install(dest);
  t.equal(unbuilt.status, 1, 'no build: refused');
  t.match(unbuilt.stderr, /dist is missing: run npm ci && npm run build first/);

  mkdirSync(path.join(checkout, 'dist/src/cli'), { recursive: true });
  writeFileSync(path.join(checkout, 'dist/src/cli/main.js'), '// stand-in\n');
  const first = install(dest);
  t.equal(first.status, 0, first.stderr);
  t.ok(existsSync(path.join(dest, 'usr/lib/ctop-agent/dist/src/cli/main.js')), 'the program');
  t.ok(existsSync(path.join(dest, 'usr/lib/ctop-agent/docs/ERRORS.md')), 'the documentation');
  t.equal(
    readFileSync(path.join(dest, 'etc/systemd/system/ctop-agent.service'), 'utf8'),
    unitText,
    'the unit',
  );
  const config = path.join(dest, 'etc/ctop-agent/config.yaml');
  t.equal(statSync(config).mode & 0o777, 0o640, 'config readable by the agent group only');
  t.equal(statSync(path.join(dest, 'etc/ctop-agent')).mode & 0o777, 0o750);
  t.equal(statSync(path.join(dest, 'etc/ctop-agent/keys')).mode & 0o777, 0o700, 'keys directory owner-only');
  t.match(first.stdout, /systemctl enable --now ctop-agent/, 'tells the next steps');
  writeFileSync(config, 'edited by the operator\n');
  t.equal(install(dest).status, 0, 'an upgrade');
  t.equal(
    readFileSync(config, 'utf8'),
    'edited by the operator\n',
    'never replaces an existing configuration',
  );
});
