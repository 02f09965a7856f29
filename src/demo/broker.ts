import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

/**
 * An MQTT broker inside the process for `npm start`: aedes on a loopback port. aedes 1.x
 * answers a CONNECT with protocol level 5 by "unacceptable protocol version"
 * (node_modules/aedes/lib/handlers/connect.js accepts levels 3 and 4 only), so the agent
 * and the exchange speak MQTT 3.1.1 to it (sync.protocolVersion 4); the signed receipts
 * make the delivery guarantee either way (EXCHANGE.md).
 */
export class EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  readonly #broker: Aedes;
  readonly #server: Server;

  private constructor(broker: Aedes, server: Server, port: number) {
    this.#broker = broker;
    this.#server = server;
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
  }

  static async start(port = 0): Promise<EmbeddedBroker> {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new EmbeddedBroker(broker, server, (server.address() as { port: number }).port);
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#broker.connectedClients;
  }

  /** Disconnects every client, then stops listening. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
