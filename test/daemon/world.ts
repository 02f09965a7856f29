/**
 * A daemon under test as the operator runs it: a YAML configuration file, a real child
 * process (`node dist/src/cli/main.js daemon --config …`, the built program), JSON log lines on its
 * stdout, real mosquitto, the reference exchange, simulated locks on real ptys reached
 * through symlinks in the test's own directory (so a glob never meets another test's pty).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { CLI } from '../helpers/cli.js';
import { net } from '../helpers/patience.js';
import { IDENTITY, makeSyncWorld, type SyncWorld } from '../helpers/sync-world.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface LogLine {
  level: number;
  msg: string;
  component?: string;
  [key: string]: unknown;
}

export interface DaemonWorld extends SyncWorld {
  /** Where serial symlinks go: the configuration's serial.ports is `<ttyDir>/lock-*`. */
  ttyDir: string;
  dbPath: string;
  configFile: string;
  /** Writes the configuration: a working base with the test's short timeouts, `overrides` merged in. */
  writeConfig(brokerUrl: string, overrides?: Record<string, unknown>): string;
  /** Makes `<ttyDir>/lock-<name>` point at a pty (the lock "plugged in"). */
  plug(name: string, gatewayPath: string): string;
  unplug(name: string): void;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function makeDaemonWorld(t: Teardown): DaemonWorld {
  const world = makeSyncWorld(t);
  const ttyDir = path.join(world.dir, 'tty');
  mkdirSync(ttyDir);
  const dbPath = path.join(world.dir, 'agent.db');
  const configFile = path.join(world.dir, 'config.yaml');
  return {
    ...world,
    ttyDir,
    dbPath,
    configFile,
    writeConfig(brokerUrl, overrides = {}) {
      const base = {
        gateway: {
          id: IDENTITY.gatewayId,
          country: IDENTITY.country,
          checkpoint: IDENTITY.checkpoint,
          key: world.files.gatewayKey,
        },
        trust: { store: world.files.agentTrust },
        locks: { trustOnFirstUse: true },
        store: { path: dbPath, minFreeMiB: 1, spaceCheckSeconds: 5 },
        serial: {
          ports: [path.join(ttyDir, 'lock-*')],
          baudRate: 921600,
          scanIntervalMs: 100,
          probeIntervalMs: 300,
        },
        sync: {
          brokers: [brokerUrl],
          exchangeAddress: 'CTOP://KZ/EXCHANGE',
          // Not shorter: a loaded machine can hold a process for seconds (test/helpers/sync-world.ts).
          keepaliveSeconds: 10,
          connectTimeoutMs: 10_000,
          reconnectDelayMs: 200,
          receiptTimeoutMs: 1500,
          pollIntervalMs: 100,
          outageGraceMs: 0,
          stopTimeoutMs: 1000,
        },
        http: { listen: '127.0.0.1:0' },
        log: { level: 'debug', format: 'json' },
        shutdown: { readGraceMs: 200 },
      };
      writeFileSync(configFile, stringify(merge(base, overrides)));
      return configFile;
    },
    plug(name, gatewayPath) {
      const link = path.join(ttyDir, `lock-${name}`);
      symlinkSync(gatewayPath, link);
      return link;
    },
    unplug(name) {
      rmSync(path.join(ttyDir, `lock-${name}`), { force: true });
    },
  };
}

/** A daemon child process and its log, line by line. */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  /** Everything it wrote that was not a JSON log line (must stay empty: journald gets JSON only). */
  readonly other: string[] = [];
  stderr = '';
  #buffer = '';
  #waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * `ctop-agent daemon --config <configFile>` (the built program), or `command` as it is (an
   * installed agent, test/package/): `env` then replaces the environment rather than adding to it.
   */
  constructor(configFile: string, env: NodeJS.ProcessEnv = {}, command?: string[]) {
    this.child = command
      ? spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CLI, 'daemon', '--config', configFile], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
    this.child.stdout!.on('data', (d: Buffer) => this.#onData(d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
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
        this.other.push(raw);
        continue;
      }
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(line)) return true;
        w.resolve(line);
        return false;
      });
    }
  }

  /** The first log line (already written or still to come) that matches; `timeoutMs` as for waitFor (patience.ts). */
  waitFor(match: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out after ${net(timeoutMs)} ms waiting for ${what}; log tail:\n${this.lines
              .slice(-15)
              .map((l) => JSON.stringify(l))
              .join('\n')}\nstderr: ${this.stderr}`,
          ),
        );
      }, net(timeoutMs));
      const done = (l: LogLine) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  msg(text: string | RegExp, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitFor(
      (l) => (typeof text === 'string' ? l.msg === text : text.test(l.msg)),
      timeoutMs,
      `log "${text}"`,
    );
  }

  /** The pipeline's line for a finished read of `lockId` (complete or failed), matching `also`. */
  lockRead(lockId: string, timeoutMs = 20_000, also: (l: LogLine) => boolean = () => true): Promise<LogLine> {
    return this.waitFor(
      (l) => l.component === 'ingest' && l.lockId === lockId && typeof l.outcome === 'string' && also(l),
      timeoutMs,
      `a read of ${lockId}`,
    );
  }

  /** Every finished read of `lockId` logged so far. */
  readsOf(lockId: string): LogLine[] {
    return this.lines.filter(
      (l) => l.component === 'ingest' && l.lockId === lockId && typeof l.outcome === 'string',
    );
  }

  async ready(timeoutMs = 20_000): Promise<{ httpPort: number }> {
    const line = await this.msg('ready', timeoutMs);
    const port = Number(String(line.http).split(':').pop());
    return { httpPort: port };
  }

  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** A daemon for one test, SIGKILLed in teardown if the test left it running. */
export function startDaemon(t: Teardown, configFile: string, env: NodeJS.ProcessEnv = {}): DaemonProcess {
  const daemon = new DaemonProcess(configFile, env);
  t.teardown(async () => {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
      daemon.child.kill('SIGKILL');
      await daemon.exited;
    }
  });
  return daemon;
}

/** GET on the daemon's health listener. */
export async function httpGet(
  port: number,
  urlPath: string,
): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** A metric's value from the exposition text (first sample whose labels include `labels`). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const m = /^([^{ ]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]] as [string, string]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Scrapes /metrics until `done` holds (or the time is up: the last scrape is returned for the assertions). */
export async function scrapeUntil(
  port: number,
  done: (text: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + net(timeoutMs);
  let text = (await httpGet(port, '/metrics')).body;
  while (!done(text) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    text = (await httpGet(port, '/metrics')).body;
  }
  return text;
}
