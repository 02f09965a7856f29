/**
 * The real Debian ejabberd's MQTT service for tests, beside mosquitto.ts and of the same
 * shape: started with a generated configuration on free loopback ports, killed and
 * restarted on the same ports, a TLS listener with client certificates and password
 * accounts where a test needs them, the topic ACL of EXCHANGE.md §2.3
 * (src/reference-exchange/ejabberd-mqtt.ts).
 *
 * The Erlang VM runs without distribution (no -sname/-name): it starts no epmd and opens no
 * distribution port, so nothing but the MQTT listeners on 127.0.0.1 is reachable, there is
 * no node name or cookie to collide with another instance, and the mnesia spool lives in the
 * instance's temp directory. ejabberdctl is not used (it needs distribution, and as root it
 * switches to the ejabberd user, who cannot read our temp files); accounts are registered
 * by an -eval at start from a file, so no password is on a command line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ejabberdMqttSettings, toEjabberdYaml } from '../../src/reference-exchange/index.js';
import { freePort } from './mosquitto.js';

export const ERL = process.env.CTOP_ERL ?? '/usr/bin/erl';
/** The XMPP domain; user names are local to it. */
export const EJABBERD_HOST = 'localhost';
const READY = 'ctop-ejabberd-ready';

export interface EjabberdTls {
  caFile: string;
  /** The server's certificate and key. */
  certFile: string;
  keyFile: string;
  /** Client certificates (chained to caFile) log in without a password. Default true. */
  verifyClients?: boolean;
}

export interface EjabberdOptions {
  /** A second listener, TLS; it accepts client certificates against caFile unless told not to. */
  tls?: EjabberdTls;
  /** Password accounts: user name → password. */
  users?: Record<string, string>;
  /** The topic ACL for this exchange account; default none (any client may use any topic). */
  acl?: { exchangeUser: string };
  /** mod_mqtt session_expiry; ejabberd's default is 300. Default 7 days as documented. */
  sessionExpirySeconds?: number;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** Where Debian installs ejabberd's Erlang applications (ejabberdctl's ERL_LIBS). */
function erlLibs(): string {
  if (process.env.CTOP_EJABBERD_LIBS) return process.env.CTOP_EJABBERD_LIBS;
  for (const arch of readdirSync('/usr/lib')) {
    const dir = path.join('/usr/lib', arch);
    try {
      if (readdirSync(dir).some((d) => /^ejabberd-\d/.test(d))) return dir;
    } catch {
      // not a directory
    }
  }
  throw new Error('ejabberd is not installed (apt-get install ejabberd; pretest does it)');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `0100007F:1F90` (little-endian IPv4, or 32 hex digits of IPv6) → `127.0.0.1:8080`. */
function procAddress(hex: string): string {
  const [ip, port] = hex.split(':') as [string, string];
  const p = Number.parseInt(port, 16);
  if (ip.length === 8) {
    const bytes = Buffer.from(ip, 'hex').reverse();
    return `${[...bytes].join('.')}:${p}`;
  }
  return `[${ip}]:${p}`;
}

/** An Erlang binary literal of a UTF-8 string. */
const binary = (s: string) => `<<${[...Buffer.from(s, 'utf8')].join(',')}>>`;

/** Starts ejabberd, registers the accounts of the file named by CTOP_EJABBERD_USERS, prints READY. */
const BOOT = [
  'case application:ensure_all_started(ejabberd) of',
  '  {ok, _} ->',
  '    {ok, Users} = file:consult(os:getenv("CTOP_EJABBERD_USERS")),',
  `    [ejabberd_auth:try_register(U, ${binary(EJABBERD_HOST)}, P) || {U, P} <- Users],`,
  `    io:format("${READY}~n");`,
  '  Error ->',
  '    io:format("ctop-ejabberd-failed ~p~n", [Error]),',
  '    erlang:halt(1)',
  'end.',
].join(' ');

export class Ejabberd {
  /** The plain listener (password logins). */
  readonly port: number;
  /** The TLS listener, when configured. */
  readonly tlsPort: number | undefined;
  readonly dir: string;
  readonly configFile: string;
  #child: ChildProcess | undefined;
  #out = '';

  private constructor(port: number, tlsPort: number | undefined, dir: string, configFile: string) {
    this.port = port;
    this.tlsPort = tlsPort;
    this.dir = dir;
    this.configFile = configFile;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('ejabberd started without TLS');
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  static async start(options: EjabberdOptions = {}, dir?: string): Promise<Ejabberd> {
    const home = dir ?? mkdtempSync(path.join(os.tmpdir(), 'ctop-ejabberd-'));
    mkdirSync(path.join(home, 'spool'), { recursive: true, mode: 0o700 });
    const port = await freePort();
    let tlsPort: number | undefined;
    // freePort binds port 0 and closes it: two calls can get the same port back, and
    // ejabberd refuses overlapping listeners.
    while (options.tls && (tlsPort === undefined || tlsPort === port)) tlsPort = await freePort();
    const listener = (p: number) => ({ port: p, ip: '127.0.0.1', module: 'mod_mqtt', backlog: 128 });
    const mqtt = ejabberdMqttSettings({
      exchangeUser: options.acl?.exchangeUser ?? 'exchange',
      sessionExpirySeconds: options.sessionExpirySeconds ?? 7 * 86_400,
    });
    const module = (mqtt.modules as { mod_mqtt: Record<string, unknown> }).mod_mqtt;
    if (!options.acl) {
      delete module.access_publish;
      delete module.access_subscribe;
    }
    const config = {
      hosts: [EJABBERD_HOST],
      loglevel: 'info',
      log_rotate_count: 0,
      auth_method: ['internal'],
      ...(options.tls
        ? {
            certfiles: [options.tls.certFile, options.tls.keyFile],
            // The CA of the server's own certificate, and the one client certificates must chain to.
            ca_file: options.tls.caFile,
            c2s_cafile: options.tls.caFile,
          }
        : {}),
      listen: [
        listener(port),
        ...(tlsPort === undefined
          ? []
          : [{ ...listener(tlsPort), tls: true, tls_verify: options.tls?.verifyClients !== false }]),
      ],
      ...(options.acl ? { acl: mqtt.acl, access_rules: mqtt.access_rules } : {}),
      modules: mqtt.modules,
    };
    const configFile = path.join(home, 'ejabberd.yml');
    writeFileSync(configFile, toEjabberdYaml(config));
    const users = Object.entries(options.users ?? {})
      .map(([user, password]) => `{${binary(user)}, ${binary(password)}}.\n`)
      .join('');
    writeFileSync(path.join(home, 'users.eterm'), users, { mode: 0o600 });
    const e = new Ejabberd(port, tlsPort, home, configFile);
    await e.restart();
    return e;
  }

  /**
   * Starts (again) with the same configuration, spool and ports. Ready once the accounts
   * are registered and every listener accepts connections; `timeoutMs` is only a safety net
   * (a start takes 2–3 s on an idle machine, much longer on a loaded one).
   */
  async restart(timeoutMs = 120_000): Promise<void> {
    if (this.running) throw new Error('ejabberd is already running');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.dir,
      LANG: 'C.UTF-8',
      ERL_LIBS: erlLibs(),
      EJABBERD_CONFIG_PATH: this.configFile,
      EJABBERD_LOG_PATH: path.join(this.dir, 'ejabberd.log'),
      CTOP_EJABBERD_USERS: path.join(this.dir, 'users.eterm'),
    };
    const args = [
      '-noshell',
      '-noinput',
      '+K',
      'true',
      // No busy-waiting schedulers: on a shared 2-core CI machine a spinning VM takes the
      // CPU the other test processes need (the MQTT service behaves the same without it).
      '+sbwt',
      'none',
      '+sbwtdcpu',
      'none',
      '+sbwtdio',
      'none',
      '-env',
      'ERL_CRASH_DUMP_BYTES',
      '0',
      '-mnesia',
      'dir',
      JSON.stringify(path.join(this.dir, 'spool')),
      '-eval',
      BOOT,
    ];
    const child = spawn(ERL, args, { env, cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#out = '';
    const keep = (d: Buffer) => {
      // ejabberd logs every connection to its console too: keep the tail only.
      this.#out = (this.#out + d.toString()).slice(-65_536);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    const ports = [this.port, ...(this.tlsPort === undefined ? [] : [this.tlsPort])];
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `ejabberd exited with ${child.exitCode ?? child.signalCode}: ${this.#out}${this.log()}`,
        );
      }
      if (this.#out.includes(READY)) {
        const open = await Promise.all(ports.map(canConnect));
        if (open.every(Boolean)) return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`ejabberd not ready within ${timeoutMs} ms: ${this.#out}`);
  }

  /**
   * The TCP addresses the Erlang VM listens on (from /proc: its socket inodes in the
   * kernel's listening sockets). Only the configured listeners on 127.0.0.1 are expected.
   */
  listeningAddresses(): string[] {
    const pid = this.pid;
    if (pid === undefined || !this.running) return [];
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
    const out: string[] = [];
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // f[1] local address (hex ip:port), f[3] state (0A = LISTEN), f[9] inode.
        if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
        out.push(procAddress(f[1]!));
      }
    }
    return out.sort();
  }

  /** Sends a signal (default SIGKILL: sessions and queues in memory are gone) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Graceful stop (SIGTERM: the Erlang VM runs init:stop); SIGKILL if it has not ended after `timeoutMs`. */
  async stop(timeoutMs = 60_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      await this.kill('SIGTERM');
    } finally {
      clearTimeout(timer);
    }
  }

  log(): string {
    const file = path.join(this.dir, 'ejabberd.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Stops and removes its directory. */
  async dispose(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An ejabberd for one test, killed and removed in teardown. */
export async function startEjabberd(t: Teardown, options: EjabberdOptions = {}): Promise<Ejabberd> {
  const e = await Ejabberd.start(options);
  t.teardown(() => e.dispose());
  return e;
}
