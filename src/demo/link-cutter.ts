import net from 'node:net';

/**
 * The agent's network path to the broker, with a switch: a TCP relay on a loopback port
 * that `cut()` turns into a dead link (open connections reset, new ones refused) and
 * `restore()` brings back. `npm start` uses it for the outage in the middle of a train:
 * only the agent is cut off, the exchange keeps its own path to the broker.
 */
export class LinkCutter {
  readonly url: string;
  readonly #server: net.Server;
  readonly #pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  #cut = false;
  #cutAt = 0;
  /** Milliseconds the link has been cut, over all outages so far. */
  cutMs = 0;

  private constructor(server: net.Server, port: number) {
    this.#server = server;
    this.url = `mqtt://127.0.0.1:${port}`;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<LinkCutter> {
    let self: LinkCutter | undefined;
    const server = net.createServer((client) => {
      if (self) self.#accept(client, targetPort, targetHost);
      else client.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new LinkCutter(server, (server.address() as net.AddressInfo).port);
    return self;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  #accept(client: net.Socket, port: number, host: string): void {
    if (this.#cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ port, host });
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** The cable is pulled: every open connection is reset, new ones are refused. */
  cut(now = Date.now()): void {
    if (this.#cut) return;
    this.#cut = true;
    this.#cutAt = now;
    for (const { client, upstream } of this.#pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  restore(now = Date.now()): void {
    if (!this.#cut) return;
    this.#cut = false;
    this.cutMs += now - this.#cutAt;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
