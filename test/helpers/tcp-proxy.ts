/**
 * A TCP proxy between a client and a broker that tests can misbehave: cut every connection
 * (the peer sees a reset), swallow all bytes while keeping the connections open (a
 * half-open link only a keepalive notices), refuse new connections, or carry the client's
 * bytes at a set rate (a slow uplink).
 */
import net from 'node:net';

type Mode = 'forward' | 'blackhole' | 'refuse';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Swallows bytes for good: a link that went dark does not come back. */
  dark: boolean;
  /** Client bytes waiting for the uplink's rate (throttleUplink). */
  queued: Buffer[];
  queuedBytes: number;
}

/** Bytes held before the client is paused: the rest wait in the sockets, as behind a modem. */
const UPLINK_QUEUE_BYTES = 64 * 1024;
const UPLINK_TICK_MS = 10;

export class TcpProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  #mode: Mode = 'forward';
  #uplinkBytesPerSecond: number | undefined;
  #uplinkTimer: NodeJS.Timeout | undefined;
  /** When the uplink last carried bytes: a late tick carries what the rate owes since then. */
  #uplinkAt = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** Client bytes carried upstream so far. */
  uplinkBytes = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      const proxy = new TcpProxy(server);
      server.on('connection', (client) => proxy.#accept(client, targetPort, targetHost));
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(proxy));
    });
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  #accept(client: net.Socket, port: number, host: string): void {
    this.accepted++;
    if (this.#mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ port, host });
    const pair: Pair = { client, upstream, dark: this.#mode === 'blackhole', queued: [], queuedBytes: 0 };
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // On a dark link the broker may give up (its keepalive is 1.5 × the client's) but the
    // client must not hear of it: only the client's own keepalive may find a half-open link.
    const upstreamGone = () => {
      if (pair.dark) upstream.destroy();
      else end();
    };
    client.on('data', (d) => {
      if (pair.dark) return;
      if (this.#uplinkBytesPerSecond === undefined) {
        this.uplinkBytes += d.byteLength;
        upstream.write(d);
        return;
      }
      pair.queued.push(d);
      pair.queuedBytes += d.byteLength;
      if (pair.queuedBytes > UPLINK_QUEUE_BYTES) client.pause();
    });
    upstream.on('data', (d) => {
      if (!pair.dark) client.write(d);
    });
    client.on('error', end);
    upstream.on('error', upstreamGone);
    client.on('close', end);
    upstream.on('close', upstreamGone);
  }

  /** From now on the clients' bytes go upstream at `bytesPerSecond` at most (each connection). */
  throttleUplink(bytesPerSecond: number): void {
    this.#uplinkBytesPerSecond = bytesPerSecond;
    this.#uplinkAt = performance.now();
    this.#uplinkTimer ??= setInterval(() => this.#carry(), UPLINK_TICK_MS);
  }

  #carry(): void {
    // By the time passed, not the ticks: a busy test process that ticks late still gets the
    // uplink's rate, so the rate is the link's and not the machine's.
    const now = performance.now();
    const budget = Math.floor(((this.#uplinkBytesPerSecond ?? 0) * (now - this.#uplinkAt)) / 1000);
    if (budget <= 0) return;
    this.#uplinkAt = now;
    for (const pair of this.#pairs) {
      let left = budget;
      while (left > 0 && pair.queued.length > 0) {
        const head = pair.queued[0]!;
        const part = head.byteLength <= left ? head : head.subarray(0, left);
        if (part === head) pair.queued.shift();
        else pair.queued[0] = head.subarray(left);
        left -= part.byteLength;
        pair.queuedBytes -= part.byteLength;
        this.uplinkBytes += part.byteLength;
        if (!pair.dark) pair.upstream.write(part);
      }
      if (pair.queuedBytes <= UPLINK_QUEUE_BYTES && pair.client.isPaused()) pair.client.resume();
    }
  }

  /** Resets every open connection (both sides see it at once). */
  cut(): void {
    for (const pair of this.#pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  /** From now on bytes vanish both ways, on open and on new connections; nobody is told. */
  blackhole(): void {
    this.#mode = 'blackhole';
    for (const pair of this.#pairs) pair.dark = true;
  }

  /** New connections are reset at once (a broker that is down). */
  refuse(): void {
    this.#mode = 'refuse';
  }

  /** New connections are forwarded again; connections that went dark stay dark. */
  restore(): void {
    this.#mode = 'forward';
  }

  close(): Promise<void> {
    clearInterval(this.#uplinkTimer);
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
