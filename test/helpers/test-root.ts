/**
 * A throwaway Debian root to install the package into for real (docs/PACKAGING.md, "The
 * install test"): the host's root filesystem as the lower layer of an overlayfs whose upper
 * layer is a temporary directory, mounted in a private mount namespace (`unshare --mount`)
 * and entered with `nsenter` + `chroot`. What dpkg and the maintainer scripts change lands in
 * the upper layer only; the host's dpkg database, /usr, /etc and users stay as they were.
 * Fresh /tmp and /run (tmpfs), the host's /dev (ptys) and a /proc of its own; the network is
 * the host's, so an agent inside reaches a broker on the host's loopback. Needs root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface RootResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of everything run inside: nothing of the host's (tap's NODE_OPTIONS above all). */
export const ROOT_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
  DEBIAN_FRONTEND: 'noninteractive',
};

const MOUNT = `set -e
M=$1
mount -t overlay overlay -o "lowerdir=/,upperdir=$2,workdir=$3" "$M"
mount --rbind /dev "$M/dev"
mount -t proc proc "$M/proc"
mount -t tmpfs -o mode=0755 tmpfs "$M/run"
mount -t tmpfs -o mode=1777 tmpfs "$M/tmp"
echo ready
exec sleep 2147483647
`;

/** Whether this machine can make one: root, unshare(1), nsenter(1) and overlayfs. */
export function testRootUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces and overlayfs)';
  return undefined;
}

export class TestRoot {
  readonly dir: string;
  readonly #merged: string;
  readonly #holder: ChildProcess;
  readonly #children = new Set<ChildProcess>();

  private constructor(dir: string, merged: string, holder: ChildProcess) {
    this.dir = dir;
    this.#merged = merged;
    this.#holder = holder;
  }

  static async open(t: Teardown): Promise<TestRoot> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctop-root-'));
    for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
    const merged = path.join(dir, 'merged');
    const holder = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        MOUNT,
        'sh',
        merged,
        path.join(dir, 'upper'),
        path.join(dir, 'work'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const root = new TestRoot(dir, merged, holder);
    t.teardown(() => root.close());
    let stderr = '';
    holder.stderr!.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      holder.once('exit', (code) =>
        reject(new Error(`the test root could not be mounted (exit ${code}): ${stderr}`)),
      );
      createInterface({ input: holder.stdout! }).on('line', (line) => {
        if (line === 'ready') resolve();
      });
    });
    return root;
  }

  /** A path inside the root as the host reaches it (through the holder's view of the mounts). */
  path(inside: string): string {
    return path.join(`/proc/${this.#holder.pid}/root`, this.#merged, inside);
  }

  /**
   * The argv that runs `args` inside the root, as `user` when given. nsenter, chroot and
   * setpriv each exec the next, so the process spawned is the command itself: a signal to it
   * reaches the program (runuser would fork and stay in between).
   */
  command(args: string[], user?: string): string[] {
    return [
      'nsenter',
      `--mount=/proc/${this.#holder.pid}/ns/mnt`,
      '--',
      'chroot',
      this.#merged,
      // A clean environment inside: tap's process tracking injects NODE_OPTIONS into every
      // child, and its loaders (from this checkout, visible through the lower layer) must
      // not run in the installed agent.
      'env',
      '-i',
      ...Object.entries(ROOT_ENV).map(([k, v]) => `${k}=${v}`),
      ...(user ? ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--'] : []),
      ...args,
    ];
  }

  /** Runs `args` inside the root to the end. */
  run(args: string[], options: { user?: string; timeoutMs?: number } = {}): Promise<RootResult> {
    const [file, ...rest] = this.command(args, options.user);
    return new Promise((resolve, reject) => {
      const child = spawn(file!, rest, { env: ROOT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** `sh -c script` inside the root. */
  sh(script: string, options: { user?: string; timeoutMs?: number } = {}): Promise<RootResult> {
    return this.run(['sh', '-c', script], options);
  }

  /** A long-running process inside the root; SIGKILLed at close if still running. */
  spawn(args: string[], user?: string): ChildProcess {
    const [file, ...rest] = this.command(args, user);
    const child = spawn(file!, rest, { env: ROOT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    this.track(child);
    return child;
  }

  /** Kills `child` (a process started inside) at close if it is still running. */
  track(child: ChildProcess): void {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }

  async close(): Promise<void> {
    const exits = [...this.#children, this.#holder]
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => {
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGKILL');
        return exited;
      });
    await Promise.all(exits);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
