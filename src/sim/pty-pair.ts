import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CtopError } from '../errors.js';

/**
 * A real pseudo-terminal pair made by socat: whatever is written to one end comes out of
 * the other, through the kernel's tty layer, exactly as a USB-serial adapter would deliver
 * it. `gatewayPath` is what the agent opens, `lockPath` what a simulated lock serves on.
 * `cut()` kills socat (both ends vanish, as when a cable is pulled) and `restore()` brings
 * the same paths back.
 *
 * socat killed with SIGKILL cannot remove its symlinks: left behind, they point at
 * /dev/pts numbers the kernel hands to the next pty opened on the machine — another lock's,
 * in a test run three files at a time. A reader reopening the stale link would talk to that
 * other lock, and `restore()` would see the links "exist" before socat made its own. So
 * both remove the links themselves.
 */
export class PtyPair {
  readonly gatewayPath: string;
  readonly lockPath: string;
  #socat: ChildProcess | undefined;
  #ownDir: string | undefined;

  private constructor(gatewayPath: string, lockPath: string, ownDir?: string) {
    this.gatewayPath = gatewayPath;
    this.lockPath = lockPath;
    this.#ownDir = ownDir;
  }

  static async open(options: { gatewayPath?: string; lockPath?: string } = {}): Promise<PtyPair> {
    let ownDir: string | undefined;
    if (!options.gatewayPath || !options.lockPath) ownDir = mkdtempSync(join(tmpdir(), 'ctop-pty-'));
    const pair = new PtyPair(
      options.gatewayPath ?? join(ownDir!, 'gateway'),
      options.lockPath ?? join(ownDir!, 'lock'),
      ownDir,
    );
    await pair.restore();
    return pair;
  }

  get connected(): boolean {
    return this.#socat !== undefined && this.#socat.exitCode === null && this.#socat.signalCode === null;
  }

  /** Starts socat if it is not running and waits for both links to exist. */
  async restore(): Promise<void> {
    if (this.connected) return;
    this.#removeLinks();
    const end = (path: string) => `pty,raw,echo=0,link=${path}`;
    const socat = spawn('socat', [end(this.gatewayPath), end(this.lockPath)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    socat.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    const spawnError = new Promise<Error>((resolve) => socat.once('error', resolve));
    this.#socat = socat;
    // A safety net for a socat that never makes its links; on a loaded machine it takes long.
    const deadline = Date.now() + 60_000;
    while (!(existsSync(this.gatewayPath) && existsSync(this.lockPath))) {
      const failed = await Promise.race([spawnError, sleep(10).then(() => undefined)]);
      if (failed || socat.exitCode !== null || Date.now() > deadline) {
        socat.kill('SIGKILL');
        throw new CtopError(
          'E_TRANSPORT_OPEN',
          `socat could not create a pty pair: ${failed?.message ?? stderr.trim()}`,
          {
            details: { gatewayPath: this.gatewayPath },
          },
        );
      }
    }
  }

  /** Kills socat: both ends disappear and open ports see the link drop. */
  async cut(): Promise<void> {
    const socat = this.#socat;
    if (!socat || !this.connected) return;
    const exited = new Promise((resolve) => socat.once('exit', resolve));
    socat.kill('SIGKILL');
    await exited;
    this.#socat = undefined;
    this.#removeLinks();
  }

  #removeLinks(): void {
    for (const link of [this.gatewayPath, this.lockPath]) {
      try {
        if (lstatSync(link).isSymbolicLink()) rmSync(link);
      } catch {
        // Not there: nothing to remove.
      }
    }
  }

  async close(): Promise<void> {
    await this.cut();
    if (this.#ownDir) rmSync(this.#ownDir, { recursive: true, force: true });
  }
}
