import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditInput } from '../store/index.js';
import type { ConsoleContext } from './context.js';
import { attachSession, currentSession } from './request-session.js';
import { isDataPath, sendProblem } from './respond.js';

/**
 * The gate in front of everything but the login page (the static assets are served
 * outside it, they hold nothing confidential): a request
 * without a live session is refused (pages redirect to the login, data gets 401), a
 * state-changing request from another origin is refused, and every page or data request
 * of a logged-in officer is written to the audit trail before it is answered.
 */

/** Route config of a handler that writes its own audit entry (decrypt) instead of the automatic `view`. */
export const AUDITED_BY_HANDLER = { audit: 'handler' } as const;

/**
 * Decided by the route fastify matched, not by the raw URL, so no spelling of a path
 * (`/login/../outbox`, encodings) slips past. The static assets are registered outside
 * the gate altogether.
 */
function isPublicRoute(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  return route === '/login' || route === '/language';
}

const LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

/** A local path to return to after login; anything else (another host, `//evil`) becomes `/`. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !LOCAL_PATH.test(next) || next.startsWith('/login')) return '/';
  return next.slice(0, 512);
}

/** A local path to return to after a change of language: the login page too (with its own next). */
export function safeReturn(next: unknown): string {
  if (typeof next !== 'string' || next.length > 1024 || !LOCAL_PATH.test(next)) return '/';
  return next;
}

export function audit(ctx: ConsoleContext, request: FastifyRequest, entry: AuditInput): void {
  ctx.store.audit.record({ ...entry, remote: request.ip }, ctx.clock.now());
}

export { currentSession, currentSessionId, hasRole, sessionOf } from './request-session.js';

function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `${request.protocol}://${request.host}`;
}

export function installAuthGate(app: FastifyInstance, ctx: ConsoleContext): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // SameSite=Strict keeps the cookie off cross-site requests; this also refuses a
    // cross-site login form (login CSRF), which SameSite cannot, as no cookie is involved.
    if (request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request)) {
      return sendProblem(ctx, request, reply, 403, {
        title: 'problem.refused',
        message: 'problem.crossSite',
      });
    }
    const id = request.cookies[ctx.cookieName];
    // Only what the officer opens counts as activity: a live strip left open does not keep
    // a forgotten session alive past its idle time.
    const session = ctx.sessions.get(id, !isDataPath(request.url));
    if (session && id) attachSession(request, id, session);
    if (session || isPublicRoute(request)) return;
    if (isDataPath(request.url)) return reply.code(401).send({ error: 'login required' });
    if (request.method === 'GET' || request.method === 'HEAD') {
      return reply.redirect(`/login?next=${encodeURIComponent(safeNext(request.url))}`, 303);
    }
    return reply.code(401).type('text/plain; charset=utf-8').send('login required');
  });

  app.addHook('preHandler', async (request: FastifyRequest) => {
    const session = currentSession(request);
    if (!session || isPublicRoute(request) || request.method !== 'GET') return;
    if ((request.routeOptions.config as { audit?: string }).audit === AUDITED_BY_HANDLER.audit) return;
    // Recorded before the answer is built: when the trail cannot be written (E_STORE_FULL)
    // the error handler refuses the view rather than show it unrecorded.
    audit(ctx, request, { officer: session.user, action: 'view', target: request.url });
  });
}
