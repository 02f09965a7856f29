import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { type Clock, systemClock } from '../clock.js';
import { CtopError, isCtopError } from '../errors.js';
import { isPrivateKey, type PrivateKey, type TrustStore } from '../keys/index.js';
import { type Logger, silentLogger } from '../log.js';
import type { Store } from '../store/index.js';
import { currentSession, currentSessionId, installAuthGate } from './auth.js';
import type { ConsoleContext } from './context.js';
import { LoginLimiter, type LoginLimitOptions } from './login-limiter.js';
import { loadOfficers, type OfficerAccount } from './officers.js';
import { registerAlertsPage } from './pages/alerts.js';
import { registerAuditPage } from './pages/audit.js';
import { registerLanguageRoute } from './pages/language.js';
import { registerLoginPages } from './pages/login.js';
import { registerManifestPages } from './pages/manifests.js';
import { registerOutagesPage } from './pages/outages.js';
import { registerOutboxPage } from './pages/outbox.js';
import { registerTrainPages } from './pages/trains.js';
import { localeOf } from './request-language.js';
import { sendProblem } from './respond.js';
import { NO_STORE, SECURITY_HEADERS } from './security-headers.js';
import { type SessionOptions, Sessions } from './sessions.js';
import { TrainEvents, type TrainEventsOptions } from './train-events.js';
import { LiveTrains, type TrainFeed } from './train-feed.js';

export interface ConsoleOptions {
  /** The agent's store: manifests, reads, alerts, outbox, outages, statistics, and the audit trail it writes. */
  store: Store;
  /** Signer keys: a manifest is verified again before it is decrypted. */
  trust: TrustStore;
  /** Customs recipient (X25519) private keys this checkpoint holds; none: nobody can decrypt. */
  recipientKeys?: readonly PrivateKey[];
  /** At least one account. */
  officers: readonly OfficerAccount[];
  /** Live train state; default an empty feed (the trains page then says no train was read). */
  trains?: TrainFeed;
  /** Link to the daemon's Prometheus metrics (a path such as /metrics, or an http(s) URL); no link when absent. */
  metricsPath?: string;
  /** Shown in the header, e.g. "Dostyk · gw-dostyk-1". */
  site?: string;
  log?: Logger;
  clock?: Clock;
  session?: SessionOptions;
  loginLimit?: LoginLimitOptions;
  live?: TrainEventsOptions;
  /** Serve HTTPS (certificate and key, PEM); the session cookie is then Secure. Default plain HTTP. */
  https?: { key: string | Buffer; cert: string | Buffer };
}

/** The console as the daemon holds it: a fastify instance, not yet listening. */
export type ConsoleServer = FastifyInstance;

const STORE_UNAVAILABLE = new Set(['E_STORE_FULL', 'E_STORE_IO', 'E_STORE_BUSY']);

/**
 * The assets ship in the source tree (tsc copies no .css/.js): beside this module when
 * run from src/, and under the package's src/console/assets when run compiled from dist/.
 */
function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'assets'), path.resolve(here, '../../../src/console/assets')]) {
    if (existsSync(path.join(dir, 'console.css'))) return dir;
  }
  throw new CtopError('E_CONSOLE_CONFIG', `the console's assets are missing (looked beside ${here})`);
}

function checkOptions(options: ConsoleOptions): void {
  if (!options.store || !options.trust)
    throw new CtopError('E_CONSOLE_CONFIG', 'the console needs the store and the trust store');
  if (!Array.isArray(options.officers) || options.officers.length === 0) {
    throw new CtopError('E_CONSOLE_CONFIG', 'the console needs at least one officer account');
  }
  for (const key of options.recipientKeys ?? []) {
    if (!isPrivateKey(key) || key.role !== 'recipient') {
      throw new CtopError('E_CONSOLE_CONFIG', `key ${key.kid} is not a customs recipient private key`);
    }
  }
  const m = options.metricsPath;
  if (m !== undefined && !/^(\/|https?:\/\/)[\x21-\x7e]*$/.test(m)) {
    throw new CtopError('E_CONSOLE_CONFIG', 'metricsPath must be a path (/metrics) or an http(s) URL');
  }
}

/**
 * Builds the officers' console (docs/CONSOLE.md): a fastify instance with every route,
 * not yet listening. The caller listens (`await app.listen({ host, port })`) and closes it
 * (`await app.close()`, which also ends the live streams).
 */
export function createConsole(options: ConsoleOptions): ConsoleServer {
  checkOptions(options);
  const clock = options.clock ?? systemClock;
  const log = (options.log ?? silentLogger).child({ component: 'console' });
  const secure = options.https !== undefined;
  const sessions = new Sessions(clock, options.session);
  const ctx: ConsoleContext = {
    store: options.store,
    trust: options.trust,
    recipientKeys: options.recipientKeys ?? [],
    officers: loadOfficers(options.officers),
    sessions,
    limiter: new LoginLimiter(clock, options.loginLimit),
    trains: options.trains ?? new LiveTrains(),
    clock,
    log,
    site: options.site ?? 'ctop-agent',
    languages: new Map(),
    ...(options.metricsPath ? { metricsPath: options.metricsPath } : {}),
    // The __Host- prefix makes the browser refuse the cookie unless Secure, host-only and path=/.
    cookieName: secure ? '__Host-ctop_console' : 'ctop_console',
    secureCookie: secure,
  };

  const app = Fastify({
    loggerInstance: log,
    // Request lines would carry paths and addresses into the journal; the audit trail keeps them instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    trustProxy: false,
    // No automatic HEAD twins of the GET routes: a HEAD of /manifests/:id/goods would run the
    // decrypt (and record it) only to throw the page away.
    exposeHeadRoutes: false,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;

  const events = new TrainEvents(ctx.trains, sessions, log, options.live);
  const sweep = setInterval(() => sessions.sweep(), 60_000);
  sweep.unref();
  app.addHook('preClose', async () => events.close());
  app.addHook('onClose', async () => clearInterval(sweep));

  app.addHook('onRequest', async (_request, reply) => {
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': NO_STORE });
  });
  app.register(fastifyCookie);
  app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
  app.register(fastifyStatic, {
    root: assetsDir(),
    prefix: '/assets/',
    index: false,
    list: false,
    dotfiles: 'deny',
    decorateReply: false,
    maxAge: 3_600_000,
  });

  app.register(async (routes) => {
    installAuthGate(routes, ctx);
    registerLoginPages(routes, ctx, events);
    registerLanguageRoute(routes, ctx);
    registerTrainPages(routes, ctx);
    registerManifestPages(routes, ctx);
    registerOutboxPage(routes, ctx);
    registerOutagesPage(routes, ctx);
    registerAlertsPage(routes, ctx);
    registerAuditPage(routes, ctx);
    routes.get('/events/trains', async (request, reply) => {
      events.attach(reply, currentSessionId(request)!, localeOf(ctx, request).language);
    });
    // Inside the gate: an unknown path without a session goes to the login like any other,
    // and with one it is a recorded view (nobody probes unseen).
    routes.setNotFoundHandler(async (request, reply) =>
      sendProblem(ctx, request, reply, 404, { title: 'problem.notFound', message: 'problem.noPage' }),
    );
  });

  app.setErrorHandler(async (err: FastifyError | CtopError, request, reply) => {
    if (isCtopError(err) && STORE_UNAVAILABLE.has(err.code)) {
      log.error(
        { code: err.code, user: currentSession(request)?.user },
        `console refused a request: ${err.message}`,
      );
      return sendProblem(ctx, request, reply, 503, {
        title: 'problem.unavailable',
        message: 'problem.storeUnwritable',
        values: { code: err.code },
        detail: `${err.code}: ${err.message}. ${err.hint}.`,
      });
    }
    const status =
      'statusCode' in err &&
      typeof err.statusCode === 'number' &&
      err.statusCode >= 400 &&
      err.statusCode < 500
        ? err.statusCode
        : 500;
    if (status === 500) {
      log.error(
        { code: isCtopError(err) ? err.code : 'E_INTERNAL', err: { message: err.message, stack: err.stack } },
        'console request failed',
      );
      return sendProblem(ctx, request, reply, 500, { title: 'problem.error', message: 'problem.internal' });
    }
    return sendProblem(ctx, request, reply, status, {
      title: 'problem.refused',
      message: 'problem.badRequest',
      values: { status },
      detail: err.message,
    });
  });

  return app;
}
