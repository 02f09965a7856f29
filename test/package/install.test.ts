import { spawnSync } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { DaemonProcess, httpGet, metricValue } from '../daemon/world.js';
import { testPackages } from '../helpers/deb-package.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/store.js';
import {
  EXCHANGE_ADDRESS,
  fixtureManifest,
  IDENTITY,
  makeSyncWorld,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';
import { ROOT_ENV, TestRoot, testRootUnavailable } from '../helpers/test-root.js';

/**
 * The package installed for real (docs/PACKAGING.md, "The install test"): `apt-get install
 * ./ctop-agent_*.deb` into a throwaway root (an overlay over this machine's root in a private
 * mount namespace), the agent started from the installed unit's command line with a test
 * configuration against mosquitto, a simulated serial lock (`ctop-agent lock-sim` on a pty)
 * read and its manifest acknowledged by the reference exchange, an upgrade to a second build
 * with the data and the operator's configuration kept, then remove and purge. No systemd runs
 * in the root: /usr/sbin/policy-rc.d records what the maintainer scripts ask of it.
 */

t.setTimeout(900_000);
const unavailable = testRootUnavailable();
if (unavailable) t.plan(0, `the install test ${unavailable}`);
else await installTest();

async function installTest(): Promise<void> {
  const packages = await testPackages();
  const LOCK_ID = 'SSL-KZ-000001';
  const CONFIG = '/etc/ctop-agent/config.yaml';
  const DB = '/var/lib/ctop-agent/ctop-agent.db';
  const AGENT = 'ctop-agent';

  const POLICY_RC_D = `#!/bin/sh
# The test root has no init system: record what the maintainer scripts ask for, and refuse it.
echo "$*" >> /var/log/policy-rc.d.log
exit 101
`;

  const world = makeSyncWorld(t);
  const broker = await startMosquitto(t);
  const exchange = await startTestExchange(t, world, broker.url);
  const root = await TestRoot.open(t);
  const pkgDir = root.path('/tmp/pkgs');
  mkdirSync(pkgDir);
  for (const file of [packages.first, packages.next])
    copyFileSync(file, path.join(pkgDir, path.basename(file)));

  /** dpkg and the init system, as the maintainer scripts see them inside the root. */
  writeFileSync(root.path('/usr/sbin/policy-rc.d'), POLICY_RC_D, { mode: 0o755 });
  // No man-db index rebuild after each dpkg run (seconds each time); man finds pages without it.
  await root.sh("echo 'man-db man-db/auto-update boolean false' | debconf-set-selections");
  mkdirSync(root.path('/run/systemd/system'), { recursive: true });
  const policyLog = () => {
    const file = root.path('/var/log/policy-rc.d.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  };

  async function inRoot(t: Test, script: string, what: string, user?: string) {
    const res = await root.sh(script, user ? { user } : {});
    t.equal(res.code, 0, `${what} (stdout: ${res.stdout.slice(-2000)} stderr: ${res.stderr.slice(-2000)})`);
    return res;
  }

  function mode(inside: string): { mode: number; uid: number; gid: number } {
    const st = statSync(root.path(inside));
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  }

  /** The uid and gid of a user of the root (its /etc/passwd). */
  function account(name: string): { uid: number; gid: number; shell: string } | undefined {
    for (const line of readFileSync(root.path('/etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]), shell: f[6]! };
    }
    return undefined;
  }

  /** The installed unit's ExecStart, as systemd would run it. */
  function execStart(): string[] {
    const unit = readFileSync(root.path('/lib/systemd/system/ctop-agent.service'), 'utf8');
    return /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
  }

  function startAgent(t: Test): DaemonProcess {
    const daemon = new DaemonProcess(CONFIG, ROOT_ENV, root.command(execStart(), AGENT));
    root.track(daemon.child);
    t.teardown(async () => {
      if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
        daemon.child.kill('SIGKILL');
        await daemon.exited;
      }
    });
    return daemon;
  }

  async function outboxCounts(): Promise<Record<string, number>> {
    const res = await root.run([AGENT, 'outbox', 'status', '--json', '--db', DB], { user: AGENT });
    if (res.code !== 0) throw new Error(`outbox status: ${res.stderr}`);
    return (JSON.parse(res.stdout) as { counts: Record<string, number> }).counts;
  }

  /** Node.js as dpkg knows it in the root: the machine's nodejs package, or a declared stand-in. */
  function nodeVersion(): string {
    return spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
  }

  /**
   * A package that declares to dpkg the Node.js this machine runs without a Debian package
   * (Provides: nodejs (= its version)), in the manner of equivs: it ships no file, it only
   * states what is installed, so Depends: nodejs (>= 20.15) is checked against the truth.
   */
  function nodeStandIn(dir: string, version: string): string {
    const tree = path.join(dir, 'node-stand-in');
    mkdirSync(path.join(tree, 'DEBIAN'), { recursive: true });
    writeFileSync(
      path.join(tree, 'DEBIAN/control'),
      [
        'Package: ctop-test-node-stand-in',
        `Version: ${version}`,
        'Architecture: all',
        'Maintainer: ctop-agent tests <tests@ctop-agent.example>',
        `Provides: nodejs (= ${version})`,
        'Description: the Node.js of this machine, declared to dpkg (ctop-agent install test)',
        ' /usr/bin/node is installed here without a Debian package; this package says so.',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, `ctop-test-node-stand-in_${version}_all.deb`);
    const res = spawnSync('dpkg-deb', ['--root-owner-group', '--build', tree, out], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`dpkg-deb: ${res.stderr}`);
    return out;
  }

  t.test('Node.js as dpkg sees it in the root', async (t) => {
    const have = await root.sh(`dpkg-query -W -f '\${Status} \${Version}' nodejs 2>/dev/null || true`);
    const m = /^install ok installed (\S+)/.exec(have.stdout);
    const fits = m
      ? (
          await root.sh(
            `dpkg --compare-versions '${m[1]}' ge 20.15 && dpkg --compare-versions '${m[1]}' lt 21`,
          )
        ).code === 0
      : false;
    if (fits) {
      t.comment(`the machine's nodejs package ${m![1]} satisfies Depends`);
    } else {
      const version = nodeVersion();
      const standIn = nodeStandIn(tempDir(t, 'ctop-node-'), version);
      copyFileSync(standIn, path.join(pkgDir, path.basename(standIn)));
      await inRoot(
        t,
        `dpkg -i /tmp/pkgs/${path.basename(standIn)}`,
        'the stand-in for /usr/bin/node installs',
      );
      t.comment(`/usr/bin/node ${version} has no nodejs package here: declared by ctop-test-node-stand-in`);
    }
    t.pass('Depends: nodejs can be checked');
  });

  t.test('apt-get install ./ctop-agent_*.deb: user, directories, unit enabled, not started', async (t) => {
    const started = Date.now();
    const res = await inRoot(
      t,
      `cd /tmp/pkgs && apt-get install -y ./${path.basename(packages.first)}`,
      'apt-get install',
    );
    t.comment(`install: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    t.match(
      res.stdout,
      /1 newly installed/,
      'nothing but ctop-agent was installed: every dependency was there',
    );
    t.match(
      res.stdout,
      /enabled, not started: \/etc\/ctop-agent\/config.yaml does not pass/,
      'says why it did not start',
    );

    const user = account(AGENT);
    t.ok(user, 'the system user ctop-agent exists');
    t.ok(user!.uid < 1000, `a system uid (${user?.uid})`);
    t.equal(user!.shell, '/usr/sbin/nologin');
    const group = user!.gid;
    t.same(
      mode('/var/lib/ctop-agent'),
      { mode: 0o700, uid: user!.uid, gid: group },
      'data: the agent only (StateDirectoryMode=0700)',
    );
    t.same(
      mode('/etc/ctop-agent'),
      { mode: 0o750, uid: 0, gid: group },
      'configuration directory: root, readable by the agent',
    );
    t.same(mode('/etc/ctop-agent/keys'), { mode: 0o700, uid: user!.uid, gid: group }, 'keys: the agent only');
    t.same(
      mode('/etc/ctop-agent/tls'),
      { mode: 0o700, uid: user!.uid, gid: group },
      'TLS files: the agent only',
    );
    t.same(mode(CONFIG), { mode: 0o640, uid: 0, gid: group }, 'config.yaml: root writes, the agent reads');

    const wants = root.path('/etc/systemd/system/multi-user.target.wants/ctop-agent.service');
    t.ok(lstatSync(wants).isSymbolicLink(), 'enabled: multi-user.target wants it');
    t.equal(readlinkSync(wants), '/lib/systemd/system/ctop-agent.service');
    t.notMatch(policyLog(), /ctop-agent\.service (start|restart)/, 'not started: no configuration yet');

    const version = await inRoot(t, `${AGENT} --version`, 'ctop-agent --version as the agent user', AGENT);
    t.equal(version.stdout.trim(), packages.version);
    const man = await inRoot(t, 'man -P cat ctop-agent 2>/dev/null', 'man ctop-agent');
    t.match(
      man.stdout,
      /^ +ctop-agent backup --out <file> \[options\]$/m,
      'the manual page lists the commands',
    );
    t.match(man.stdout, /^EXIT STATUS$/m);
  });

  let lockSim: ReturnType<TestRoot['spawn']> | undefined;

  t.test(
    'configured, the agent reads a serial lock and the exchange acknowledges the manifest',
    async (t) => {
      const user = account(AGENT)!;
      const key = root.path(`/etc/ctop-agent/keys/${IDENTITY.gatewayId}.key`);
      copyFileSync(world.files.gatewayKey, key);
      chownSync(key, user.uid, user.gid);
      const trust = root.path('/etc/ctop-agent/trust-store.json');
      copyFileSync(world.files.agentTrust, trust);
      chownSync(trust, 0, user.gid);
      const locks = root.path('/run/ctop-locks');
      mkdirSync(locks, { mode: 0o755 });
      chownSync(locks, user.uid, user.gid);
      writeFileSync(path.join(locks, 'minimal.cose'), fixtureManifest('minimal.cose'));
      // The operator's configuration, written over the conffile as shipped.
      writeFileSync(
        root.path(CONFIG),
        stringify({
          gateway: {
            id: IDENTITY.gatewayId,
            country: IDENTITY.country,
            checkpoint: IDENTITY.checkpoint,
            key: `/etc/ctop-agent/keys/${IDENTITY.gatewayId}.key`,
          },
          trust: { store: '/etc/ctop-agent/trust-store.json' },
          locks: { trustOnFirstUse: true },
          store: { path: DB, minFreeMiB: 1 },
          serial: {
            ports: ['/run/ctop-locks/bay-?'],
            baudRate: 921600,
            scanIntervalMs: 200,
            probeIntervalMs: 500,
          },
          sync: {
            brokers: [broker.url],
            exchangeAddress: EXCHANGE_ADDRESS,
            keepaliveSeconds: 2,
            reconnectDelayMs: 200,
            receiptTimeoutMs: 3000,
            pollIntervalMs: 200,
          },
          http: { listen: '127.0.0.1:0' },
          log: { level: 'info', format: 'json' },
        }),
      );
      await inRoot(
        t,
        `${AGENT} config check --quiet ${CONFIG}`,
        'config check passes as the agent user',
        AGENT,
      );

      lockSim = root.spawn(
        [
          AGENT,
          'lock-sim',
          '--link',
          '/run/ctop-locks/bay-a',
          '--lock-id',
          LOCK_ID,
          '--manifest',
          '/run/ctop-locks/minimal.cose',
          '--baud',
          '921600',
        ],
        AGENT,
      );
      await new Promise<void>((resolve, reject) => {
        let err = '';
        lockSim!.stderr!.on('data', (d) => (err += d));
        lockSim!.once('exit', (code) => reject(new Error(`lock-sim exited ${code}: ${err}`)));
        createInterface({ input: lockSim!.stdout! }).on('line', (line) => {
          if (line.startsWith('read it with:')) resolve();
        });
      });

      const daemon = startAgent(t);
      const { httpPort } = await daemon.ready(120_000);
      const read = await daemon.lockRead(LOCK_ID, 120_000, (l) => l.outcome === 'complete');
      t.equal(read.verification, 'valid', 'the manifest verified against the trust store');
      await waitFor(
        () => exchange.db.all().some((m) => m.kind === 'manifest'),
        120_000,
        'the manifest at the exchange',
      );
      let counts: Record<string, number> = {};
      const deadline = Date.now() + 120_000;
      do {
        counts = await outboxCounts();
      } while (counts.queued! + counts.in_flight! > 0 && Date.now() < deadline);
      t.equal(counts.queued! + counts.in_flight!, 0, 'nothing left waiting');
      t.ok(counts.acknowledged! >= 1, `acknowledged by the exchange's receipt (${counts.acknowledged} rows)`);
      const metrics = (await httpGet(httpPort, '/metrics')).body;
      t.equal(
        metricValue(metrics, 'ctop_agent_info', { version: packages.version }),
        1,
        'the metrics name the installed version',
      );

      const backup = await inRoot(
        t,
        `${AGENT} backup --config ${CONFIG} --out /var/lib/ctop-agent/before-upgrade.backup`,
        'ctop-agent backup while the daemon runs',
        AGENT,
      );
      t.match(backup.stdout, /integrity_check ok/);
      t.equal(mode('/var/lib/ctop-agent/before-upgrade.backup').mode, 0o600, 'the backup is owner-only');
      const refused = await root.run(
        [AGENT, 'restore', '/var/lib/ctop-agent/before-upgrade.backup', '--config', CONFIG, '--force'],
        {
          user: AGENT,
        },
      );
      t.equal(refused.code, 8, 'restore refused while the daemon holds the database');
      t.match(refused.stderr, /E_STORE_IN_USE/);

      t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM: a clean stop');
      t.same(daemon.other, [], 'stdout carries JSON log lines only');
    },
  );

  t.test('upgrade to a second build: data and configuration kept, the unit restarted', async (t) => {
    const configBefore = readFileSync(root.path(CONFIG), 'utf8');
    const started = Date.now();
    await inRoot(
      t,
      `cd /tmp/pkgs && apt-get install -y ./${path.basename(packages.next)}`,
      `apt-get install ./${path.basename(packages.next)}`,
    );
    t.comment(`upgrade: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    t.equal(
      readFileSync(root.path(CONFIG), 'utf8'),
      configBefore,
      "the operator's configuration is untouched",
    );
    t.match(policyLog(), /ctop-agent\.service restart/, 'configured: the upgrade restarts the unit');
    const version = await inRoot(t, `${AGENT} --version`, 'the new version', AGENT);
    t.equal(version.stdout.trim(), packages.nextVersion);
    const listed = await inRoot(t, `${AGENT} manifests list --json --db ${DB}`, 'manifests list', AGENT);
    t.equal(
      (JSON.parse(listed.stdout) as unknown[]).length,
      1,
      'the manifest read before the upgrade is still there',
    );

    const daemon = startAgent(t);
    const { httpPort } = await daemon.ready(120_000);
    await daemon.msg('connected', 120_000);
    const metrics = (await httpGet(httpPort, '/metrics')).body;
    t.equal(
      metricValue(metrics, 'ctop_agent_info', { version: packages.nextVersion }),
      1,
      'the new version runs',
    );
    const counts = await outboxCounts();
    t.ok(counts.acknowledged! >= 1, 'the acknowledged rows are kept');
    t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });
    lockSim?.kill('SIGTERM');

    // The daemon stopped, root restores the backup taken before the upgrade over the database.
    const restored = await inRoot(
      t,
      `${AGENT} restore /var/lib/ctop-agent/before-upgrade.backup --config ${CONFIG} --force`,
      'ctop-agent restore as root, the daemon stopped',
    );
    t.match(restored.stdout, /kept at \/var\/lib\/ctop-agent\/ctop-agent\.db\.before-restore-\d{8}T\d{6}Z/);
    const user = account(AGENT)!;
    t.same(
      mode(DB),
      { mode: 0o600, uid: user.uid, gid: user.gid },
      'the restored database belongs to the agent, 0600',
    );
    t.ok((await outboxCounts()).acknowledged! >= 1, 'and the agent user opens it');
  });

  t.test('remove keeps the data and the configuration; purge removes them', async (t) => {
    await inRoot(t, 'apt-get remove -y ctop-agent', 'apt-get remove');
    t.match(policyLog(), /ctop-agent\.service stop/, 'the unit is stopped on remove');
    t.notOk(existsSync(root.path('/usr/lib/ctop-agent/dist')), 'the program is gone');
    t.notOk(existsSync(root.path('/usr/bin/ctop-agent')));
    t.ok(existsSync(root.path(DB)), 'the database stays');
    t.ok(existsSync(root.path(`/etc/ctop-agent/keys/${IDENTITY.gatewayId}.key`)), 'the gateway key stays');
    t.ok(existsSync(root.path(CONFIG)), 'the configuration stays');
    const status = await root.sh(`dpkg-query -W -f '\${Status}' ctop-agent`);
    t.equal(status.stdout, 'deinstall ok config-files');

    await inRoot(t, 'apt-get purge -y ctop-agent', 'apt-get purge');
    t.notOk(existsSync(root.path('/var/lib/ctop-agent')), 'purge: the data is gone');
    t.notOk(existsSync(root.path('/etc/ctop-agent')), 'purge: configuration and keys are gone');
    t.not((await root.sh('dpkg-query -W ctop-agent')).code, 0, 'dpkg knows it no more');
    t.ok(account(AGENT), 'the system user stays (files elsewhere may carry its uid)');
  });

  t.test(
    'Depends: a Node.js that is not 20 is refused; the machine node declared satisfies it',
    async (t) => {
      // Forget any nodejs package (the files stay): as on a Debian 12 with only Debian's nodejs 18 on offer.
      const status = root.path('/var/lib/dpkg/status');
      const stanzas = readFileSync(status, 'utf8').split(/\n\n/);
      writeFileSync(
        status,
        stanzas.filter((s) => !/^Package: (nodejs|ctop-test-node-stand-in)$/m.test(s)).join('\n\n'),
      );
      const deb = `/tmp/pkgs/${path.basename(packages.first)}`;
      const refused = await root.sh(`apt-get install --simulate ${deb}`);
      t.not(refused.code, 0, 'without a Node.js 20 package the install is refused');
      t.match(refused.stdout + refused.stderr, /nodejs \(>= 20\.15\)/, 'and apt names the requirement');

      const version = nodeVersion();
      const standIn = nodeStandIn(tempDir(t, 'ctop-node-'), version);
      copyFileSync(standIn, path.join(pkgDir, path.basename(standIn)));
      await inRoot(t, `dpkg -i /tmp/pkgs/${path.basename(standIn)}`, 'the stand-in declaring /usr/bin/node');
      const accepted = await inRoot(t, `apt-get install --simulate ${deb}`, 'now the install is possible');
      t.match(accepted.stdout, /^Inst ctop-agent /m);
    },
  );
}
