/**
 * The real Debian mosquitto for tests and the sync benchmark: started on a free loopback
 * port with a generated configuration, killed and restarted on the same port, with
 * persistence, a TLS listener with client certificates or password accounts, and an ACL
 * where a test needs them. ejabberd.ts is the second broker, of the same shape.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { net as safetyNet } from './patience.js';

export const MOSQUITTO = process.env.CTOP_MOSQUITTO ?? '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = process.env.CTOP_MOSQUITTO_PASSWD ?? '/usr/bin/mosquitto_passwd';

export interface MosquittoTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate signed by the CA; its CN becomes the user name. Default true. */
  requireCertificate?: boolean;
  /** ACL file content (see src/reference-exchange/mosquitto-acl.ts). */
  acl?: string;
}

export interface MosquittoOptions {
  /** Keep sessions and queued messages in <dir>/mosquitto.db across restarts. */
  persistence?: boolean;
  /** Seconds between persistence saves (mosquitto default 1800): what a SIGKILL can lose. */
  autosaveInterval?: number;
  tls?: MosquittoTls;
  /** Fixed port; default a free one. */
  port?: number;
  /** Password accounts (user name → password) on the plain listener; anonymous clients are then refused. */
  users?: Record<string, string>;
  /** ACL file content for password accounts (the user name is %u). */
  acl?: string;
  /** Configuration lines appended as they are (bridges). */
  extra?: string[];
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A free TCP port on 127.0.0.1 (free when asked; mosquitto binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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

export class Mosquitto {
  readonly port: number;
  readonly dir: string;
  readonly configFile: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string, configFile: string) {
    this.port = port;
    this.dir = dir;
    this.configFile = configFile;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  static async start(options: MosquittoOptions = {}, dir?: string): Promise<Mosquitto> {
    const home = dir ?? mkdtempSync(path.join(os.tmpdir(), 'ctop-mosquitto-'));
    mkdirSync(home, { recursive: true });
    const port = options.port ?? (await freePort());
    const lines = [
      // Running as root, mosquitto would switch to the "mosquitto" user and lose our temp files.
      `user ${os.userInfo().username}`,
      `persistence ${options.persistence ? 'true' : 'false'}`,
      `persistence_location ${home}/`,
      `autosave_interval ${options.autosaveInterval ?? 1800}`,
      `log_dest file ${path.join(home, 'mosquitto.log')}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      // The default 1000 would drop a backlog queued for an exchange that is away.
      'max_queued_messages 1000000',
      `listener ${port} 127.0.0.1`,
    ];
    if (options.tls) {
      const acl = path.join(home, 'acl');
      lines.push(
        `cafile ${options.tls.caFile}`,
        `certfile ${options.tls.certFile}`,
        `keyfile ${options.tls.keyFile}`,
        `require_certificate ${options.tls.requireCertificate === false ? 'false' : 'true'}`,
        'use_identity_as_username true',
      );
      if (options.tls.acl !== undefined) {
        writeFileSync(acl, options.tls.acl);
        lines.push(`acl_file ${acl}`);
      }
      lines.push('allow_anonymous false');
    } else if (options.users) {
      const passwords = path.join(home, 'passwd');
      writeFileSync(
        passwords,
        Object.entries(options.users)
          .map(([user, password]) => `${user}:${password}\n`)
          .join(''),
        { mode: 0o600 },
      );
      // Hashes the plain-text file in place (no password on a command line).
      execFileSync(MOSQUITTO_PASSWD, ['-U', passwords], { stdio: ['ignore', 'ignore', 'pipe'] });
      lines.push(`password_file ${passwords}`, 'allow_anonymous false');
      if (options.acl !== undefined) {
        writeFileSync(path.join(home, 'acl'), options.acl);
        lines.push(`acl_file ${path.join(home, 'acl')}`);
      }
    } else {
      lines.push('allow_anonymous true');
    }
    lines.push(...(options.extra ?? []));
    const configFile = path.join(home, 'mosquitto.conf');
    writeFileSync(configFile, `${lines.join('\n')}\n`);
    const m = new Mosquitto(port, home, configFile);
    await m.restart();
    return m;
  }

  /** Starts (again) with the same configuration and port. */
  async restart(timeoutMs = 5_000): Promise<void> {
    if (this.running) throw new Error('mosquitto is already running');
    const child = spawn(MOSQUITTO, ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    this.#child = child;
    const deadline = Date.now() + safetyNet(timeoutMs);
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr}${this.log()}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    throw new Error(`mosquitto did not listen on ${this.port} within ${safetyNet(timeoutMs)} ms: ${stderr}`);
  }

  /** Sends a signal (default SIGKILL: no chance to save anything) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Graceful stop (SIGTERM: persistence is saved). */
  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }

  log(): string {
    const file = path.join(this.dir, 'mosquitto.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Stops and removes its directory. */
  async dispose(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A mosquitto for one test, killed and removed in teardown. */
export async function startMosquitto(t: Teardown, options: MosquittoOptions = {}): Promise<Mosquitto> {
  const m = await Mosquitto.start(options);
  t.teardown(() => m.dispose());
  return m;
}
