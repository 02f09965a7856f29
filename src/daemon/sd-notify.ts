import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

/**
 * sd_notify(3) for a Type=notify unit: READY=1, WATCHDOG=1, STATUS=, STOPPING=1,
 * RELOADING=1 to the socket systemd names in NOTIFY_SOCKET.
 *
 * Node cannot send a datagram on a unix socket (node:dgram speaks UDP only, node:net
 * streams only; the `sd-notify` npm package is a native addon). So each message is sent by
 * `systemd-notify`, which the systemd package always installs next to the manager. Two
 * consequences, both handled in systemd/ctop-agent.service:
 * - the sender is a child process, so the unit needs NotifyAccess=all;
 * - a message from a process that has already exited cannot be matched to its unit
 *   (systemd/systemd#2737), so systemd-notify is left to wait (its default BARRIER=1)
 *   until the manager has read the message, and only then exits.
 * Messages are sent one at a time, in order; a failure is logged, never thrown: a daemon
 * must not die because the manager's socket hiccupped.
 */
export interface NotifierOptions {
  log: Logger;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The helper; default `systemd-notify` from PATH. */
  command?: string;
  /** A send that takes longer is abandoned (systemd-notify's own barrier timeout is 5 s). Default 10 s. */
  timeoutMs?: number;
}

export class SystemdNotifier {
  readonly #log: Logger;
  readonly #socket: string | undefined;
  readonly #command: string;
  readonly #timeoutMs: number;
  readonly #watchdogUsec: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  /** Messages sent successfully, for tests and the metrics. */
  sent = 0;
  failed = 0;

  constructor(options: NotifierOptions) {
    const env = options.env ?? process.env;
    this.#log = options.log.child({ component: 'sd-notify' });
    this.#socket = env.NOTIFY_SOCKET || undefined;
    this.#command = options.command ?? 'systemd-notify';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    // WATCHDOG_PID names the process the watchdog is for; another process's setting is not ours.
    const usec = Number(env.WATCHDOG_USEC);
    const pid = env.WATCHDOG_PID === undefined ? process.pid : Number(env.WATCHDOG_PID);
    this.#watchdogUsec = Number.isSafeInteger(usec) && usec > 0 && pid === process.pid ? usec : undefined;
  }

  /** Whether a service manager listens (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return this.#socket !== undefined;
  }

  /** The watchdog interval systemd expects pings within (WatchdogSec=), in ms; undefined when off. */
  get watchdogMs(): number | undefined {
    return this.#watchdogUsec === undefined ? undefined : Math.floor(this.#watchdogUsec / 1000);
  }

  ready(status?: string): Promise<void> {
    return this.notify({ READY: '1', ...(status ? { STATUS: status } : {}) });
  }

  watchdog(): Promise<void> {
    return this.notify({ WATCHDOG: '1' });
  }

  status(status: string): Promise<void> {
    return this.notify({ STATUS: status });
  }

  stopping(status?: string): Promise<void> {
    return this.notify({ STOPPING: '1', ...(status ? { STATUS: status } : {}) });
  }

  /** RELOADING=1 then READY=1 around a SIGHUP reload (sd_notify(3)). */
  reloading(): Promise<void> {
    return this.notify({ RELOADING: '1' });
  }

  /** Sends `fields` as one message; resolves when it is sent or has failed (never rejects). */
  notify(fields: Record<string, string>): Promise<void> {
    if (!this.#socket) return Promise.resolve();
    // A newline inside a value would start another assignment.
    const assignments = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`);
    const next = this.#chain.then(() => this.#send(assignments));
    this.#chain = next;
    return next;
  }

  #send(assignments: string[]): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn(this.#command, [`--pid=${process.pid}`, ...assignments], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NOTIFY_SOCKET: this.#socket },
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 1024) stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#timeoutMs);
      const done = (problem?: string) => {
        clearTimeout(timer);
        if (problem === undefined) this.sent++;
        else {
          this.failed++;
          this.#log.warn(
            { socket: this.#socket, message: assignments.join(' ') },
            `sd_notify failed: ${problem}`,
          );
        }
        resolve();
      };
      child.once('error', (err) => done(`${this.#command}: ${err.message}`));
      child.once('exit', (code, signal) =>
        done(code === 0 ? undefined : `${this.#command} exited ${signal ?? code}: ${stderr.trim()}`),
      );
    });
  }

  /** Waits for every message queued so far. */
  flush(): Promise<void> {
    return this.#chain;
  }
}
