import type { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { AgentConfig, ConfigReferences } from '../config/index.js';
import { type ConsoleServer, createConsole, LiveTrains } from '../console/index.js';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { ConsoleTrainFeed } from './console-feed.js';
import type { DaemonEvents } from './daemon-events.js';
import { parseListen } from './health-server.js';

export interface DaemonConsoleParts {
  config: AgentConfig;
  store: Store;
  /** The officers come from the configuration; the recipient keys and TLS files from its references. */
  refs: ConfigReferences;
  /** The daemon: its reads and the BLE train reader's progress feed the live strip. */
  events: EventEmitter<DaemonEvents>;
  /** The health listener's port, for the console's link to the metrics. */
  healthPort?: number;
  log: Logger;
  clock: Clock;
}

/**
 * The officers' console (docs/CONSOLE.md) as the daemon runs it, not yet listening: the
 * daemon hands it the officers of its configuration and its store, and its events feed
 * the live train strip.
 */
export function createDaemonConsole(parts: DaemonConsoleParts): ConsoleServer {
  const { config: c, refs, events } = parts;
  const trains = new LiveTrains();
  const feed = new ConsoleTrainFeed(trains);
  events.on('read', (o) => feed.read(o));
  events.on('train-start', (e) => feed.start(e.trainId, e.startedAt));
  events.on('train-lock', (p) => feed.lock(p));
  events.on('train-end', (summary) => feed.end(summary));
  const metricsHost = c.http.listen === null ? undefined : parseListen(c.http.listen).host;
  return createConsole({
    store: parts.store,
    trust: refs.trust,
    recipientKeys: refs.console?.recipientKeys ?? [],
    officers: c.console.officers,
    trains,
    ...(metricsHost && parts.healthPort !== undefined
      ? {
          metricsPath: `http://${metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost}:${parts.healthPort}/metrics`,
        }
      : {}),
    site: c.console.site ?? `${c.gateway.checkpoint} · ${c.gateway.id}`,
    ...(refs.console?.https ? { https: refs.console.https } : {}),
    log: parts.log,
    clock: parts.clock,
  });
}

/** Listens on `listen` (E_DAEMON_LISTEN when it cannot); resolves with the port. */
export async function listenConsole(app: ConsoleServer, listen: string): Promise<number> {
  const { host, port } = parseListen(listen);
  try {
    await app.listen({ host, port });
  } catch (err) {
    throw new CtopError('E_DAEMON_LISTEN', `console cannot listen on ${listen}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : port;
}
