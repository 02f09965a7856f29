import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';

/** A check's verdict and what it saw, as /healthz and /readyz print it. */
export interface Probe {
  ok: boolean;
  checks: Record<string, unknown>;
}

export interface HealthHandlers {
  /** Liveness: the process works (systemd's watchdog asks the same). */
  health(): Probe;
  /** Readiness: the agent takes lock reads and stores them. */
  ready(): Probe;
  metrics(): Promise<{ contentType: string; body: string }>;
}

/** `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65_535) {
    throw new CtopError('E_DAEMON_LISTEN', `"${listen}" is not host:port`);
  }
  return { host: m[1]!, port };
}

/**
 * Health and Prometheus metrics over plain HTTP on a loopback port (http.listen):
 * GET /healthz, /readyz (200 or 503, JSON) and /metrics (text exposition format).
 * Anything else is 404; nothing is ever written through it.
 */
export class HealthServer {
  readonly #server: Server;
  readonly #log: Logger;

  private constructor(server: Server, log: Logger) {
    this.#server = server;
    this.#log = log;
  }

  static async listen(listen: string, handlers: HealthHandlers, log: Logger): Promise<HealthServer> {
    const { host, port } = parseListen(listen);
    const child = log.child({ component: 'http' });
    const server = createServer((req, res) => {
      void respond(req, res, handlers).catch((err: Error) => {
        child.warn({ err: err.message, url: req.url }, 'health request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // Scrapers keep connections alive; close() must not wait for them.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new CtopError('E_DAEMON_LISTEN', `cannot listen on ${listen}: ${err.message}`, { cause: err }),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    const bound = server.address() as AddressInfo;
    child.info(
      { address: bound.address, port: bound.port },
      `health and metrics on http://${listen.replace(/:\d+$/, '')}:${bound.port}`,
    );
    return new HealthServer(server, child);
  }

  /** The port actually bound (http.listen may say :0 in tests). */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#log.debug('http listener closed');
  }
}

async function respond(req: IncomingMessage, res: ServerResponse, handlers: HealthHandlers): Promise<void> {
  const url = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  if (url === '/healthz' || url === '/readyz') {
    const probe = url === '/healthz' ? handlers.health() : handlers.ready();
    res.writeHead(probe.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify({ status: probe.ok ? 'ok' : 'unavailable', ...probe.checks })}\n`);
    return;
  }
  if (url === '/metrics') {
    const { contentType, body } = await handlers.metrics();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found: try /healthz, /readyz or /metrics\n');
}
