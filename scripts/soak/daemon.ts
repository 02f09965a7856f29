/**
 * The daemon as the operator runs it: `node --import tsx src/cli/main.ts daemon --config …`
 * in a child process, JSON log lines on stdout. Always started under libfaketime (Debian's
 * `faketime` package) reading its offset from a file, monotonic clock left alone, so the
 * soak can step the wall clock of a running daemon the way an NTP step or a wrong RTC would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
].find((f) => existsSync(f));

export function libfaketime(): string | undefined {
  return LIBFAKETIME;
}

export interface LogLine {
  level: number;
  msg: string;
  component?: string;
  lockId?: string;
  outcome?: string;
  trust?: string;
  code?: string;
  [key: string]: unknown;
}

export interface Sample {
  at: number;
  pid: number;
  rssBytes: number;
  fds: number;
}

/** One incarnation of the daemon. */
export class DaemonChild {
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  httpPort: number | undefined;
  /** Killed on purpose (SIGKILL, SIGTERM) by the soak. */
  killedOnPurpose = false;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  nonJson = 0;
  #buffer = '';
  readonly #onLine: (l: LogLine) => void;

  constructor(configFile: string, env: NodeJS.ProcessEnv, onLine: (l: LogLine, d: DaemonChild) => void) {
    this.#onLine = (l) => onLine(l, this);
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, 'daemon', '--config', configFile], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => this.#onData(d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => {
      if (this.stderr.length < 16_384) this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  #onData(text: string): void {
    this.#buffer += text;
    let nl = this.#buffer.indexOf('\n');
    while (nl >= 0) {
      const raw = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      nl = this.#buffer.indexOf('\n');
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        this.nonJson++;
        continue;
      }
      if (line.msg === 'ready' && this.readyAt === undefined) {
        this.readyAt = Date.now();
        const port = Number(
          String(line.http ?? '')
            .split(':')
            .pop(),
        );
        if (Number.isInteger(port) && port > 0) this.httpPort = port;
      }
      this.#onLine(line);
    }
  }

  /** Waits for the "ready" line; false when it exited or the time ran out first. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.readyAt === undefined && this.running && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.readyAt !== undefined;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    this.killedOnPurpose = true;
    if (this.running) this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.killedOnPurpose = true;
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }

  /** RSS from /proc/<pid>/status and the number of open file descriptors. */
  sample(): Sample | undefined {
    if (!this.running) return undefined;
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      const fds = readdirSync(`/proc/${this.pid}/fd`).length;
      return { at: Date.now(), pid: this.pid, rssBytes: Number(m?.[1] ?? 0) * 1024, fds };
    } catch {
      return undefined;
    }
  }

  /** process_resident_memory_bytes from its own /metrics (a cross-check of /proc). */
  async metricRss(): Promise<number | undefined> {
    if (!this.httpPort || !this.running) return undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`, {
        signal: AbortSignal.timeout(2000),
      });
      const m = /^process_resident_memory_bytes (\S+)$/m.exec(await res.text());
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The offset file libfaketime reads (relative, e.g. "+2700s"); re-read every second. */
export class WallClock {
  readonly file: string;
  offsetSeconds = 0;

  constructor(file: string) {
    this.file = file;
    this.set(0);
  }

  set(offsetSeconds: number): void {
    this.offsetSeconds = offsetSeconds;
    writeFileSync(this.file, `${offsetSeconds >= 0 ? '+' : ''}${offsetSeconds}s\n`);
  }

  env(): NodeJS.ProcessEnv {
    if (!LIBFAKETIME) return {};
    return {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: this.file,
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
  }
}
