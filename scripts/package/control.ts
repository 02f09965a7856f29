import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { walk } from './stage.js';

/**
 * DEBIAN/: control (with Depends worked out from the native add-ons by dpkg-shlibdeps),
 * conffiles, md5sums and the maintainer scripts from packaging/deb/.
 */

/** The configuration is a conffile: dpkg keeps an operator's changed copy on every upgrade. */
export const CONFFILES = ['/etc/ctop-agent/config.yaml'];

/**
 * The Node.js the package runs on. The native add-ons (better-sqlite3 above all, which is
 * built against V8, not N-API) are compiled for one Node ABI, 115 for Node 20: a Node 22
 * could not load them, so the upper bound is as real as the lower one (package.json's
 * engines). Debian 13 ships nodejs 20; Debian 12 ships 18, which this refuses on purpose.
 */
export const NODE_DEPENDS = 'nodejs (>= 20.15), nodejs (<< 21)';

export interface ControlFields {
  version: string;
  arch: string;
  /** From dpkg-shlibdeps: the libraries the add-ons link against. */
  shlibs: string;
  installedSizeKiB: number;
  maintainer: string;
}

export function controlFile(f: ControlFields): string {
  return `${[
    'Package: ctop-agent',
    `Version: ${f.version}`,
    `Architecture: ${f.arch}`,
    `Maintainer: ${f.maintainer}`,
    `Installed-Size: ${f.installedSizeKiB}`,
    `Depends: ${[NODE_DEPENDS, 'adduser', f.shlibs].filter(Boolean).join(', ')}`,
    // Only `ctop-agent lock-sim` (a simulated lock for trying a reader) needs it.
    'Suggests: socat',
    'Section: net',
    'Priority: optional',
    'Description: edge agent of the KZ-CN CTOP rail corridor',
    ' ctop-agent runs on gateways at rail border checkpoints and loading',
    ' yards. It reads the safe and smart locks that close containers, over',
    ' serial lines and Bluetooth LE, verifies the customs manifest a lock',
    ' carries, keeps it in SQLite and syncs it over MQTT 5 to the online',
    ' exchange of the customs services when connectivity returns.',
    ' .',
    ' The package holds the program with its Node.js modules (native add-ons',
    ' built for this architecture: nothing is compiled at install), the',
    ' hardened systemd unit, the configuration, Prometheus alert rules and a',
    ' Grafana dashboard (examples).',
  ].join('\n')}\n`;
}

/**
 * What the native add-ons link against, as dpkg-shlibdeps says it (e.g. `libc6 (>= 2.34),
 * libstdc++6 (>= 11)`): run in a scratch directory with the minimal debian/control it reads.
 */
export function shlibsDepends(objects: string[]): string {
  if (objects.length === 0) return '';
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ctop-shlibdeps-'));
  try {
    mkdirSync(path.join(scratch, 'debian'));
    writeFileSync(
      path.join(scratch, 'debian/control'),
      'Source: ctop-agent\n\nPackage: ctop-agent\nArchitecture: any\n',
    );
    const out = execFileSync('dpkg-shlibdeps', ['-O', ...objects.map((o) => `-e${o}`)], {
      cwd: scratch,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const m = /^shlibs:Depends=(.*)$/m.exec(out);
    return m ? m[1]!.trim() : '';
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** DEBIAN/md5sums: every shipped file but the conffiles (dpkg tracks those itself). */
export function md5sums(stage: string): string {
  const lines: string[] = [];
  for (const file of walk(stage)) {
    const rel = path.relative(stage, file);
    if (rel.startsWith('DEBIAN/') || CONFFILES.includes(`/${rel}`)) continue;
    lines.push(`${createHash('md5').update(readFileSync(file)).digest('hex')}  ${rel}`);
  }
  return `${lines.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n')}\n`;
}

/** Installed-Size in KiB: each file rounded up to a block, as dpkg-gencontrol counts. */
export function installedSizeKiB(stage: string): number {
  let kib = 0;
  for (const file of walk(stage)) {
    if (path.relative(stage, file).startsWith('DEBIAN/')) continue;
    kib += Math.ceil(statSync(file).size / 1024);
  }
  return kib;
}

/** A Debian changelog of one entry for this build (a native package: no upstream changelog to carry). */
export function changelog(version: string, maintainer: string, epochSeconds: number, commit: string): string {
  const date = new Date(epochSeconds * 1000).toUTCString().replace('GMT', '+0000');
  return `ctop-agent (${version}) unstable; urgency=medium\n\n  * Built from commit ${commit} of the ctop-agent repository.\n\n -- ${maintainer}  ${date}\n`;
}
