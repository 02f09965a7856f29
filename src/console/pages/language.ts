import type { FastifyInstance } from 'fastify';
import { currentSession, safeReturn } from '../auth.js';
import type { ConsoleContext } from '../context.js';
import { isLanguage } from '../i18n/languages.js';
import { LANGUAGE_COOKIE } from '../request-language.js';
import { NO_STORE } from '../security-headers.js';

/** A browser keeps the choice this long (Chromium caps cookies at 400 days). */
const COOKIE_MAX_AGE_S = 400 * 86_400;

/**
 * The language switcher's target, open before login too (the login page has the switcher).
 * The choice is remembered for the officer's account while the agent runs, and in this
 * browser by a cookie, so the login page already speaks it. A POST from another site is
 * refused by the gate like every other.
 */
export function registerLanguageRoute(app: FastifyInstance, ctx: ConsoleContext): void {
  app.post('/language', async (request, reply) => {
    const body = (request.body ?? {}) as { lang?: unknown; next?: unknown };
    const next = safeReturn(body.next);
    reply.header('cache-control', NO_STORE);
    if (!isLanguage(body.lang)) return reply.redirect(next, 303);
    const session = currentSession(request);
    if (session) ctx.languages.set(session.user, body.lang);
    reply.setCookie(LANGUAGE_COOKIE, body.lang, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secureCookie,
      maxAge: COOKIE_MAX_AGE_S,
    });
    return reply.redirect(next, 303);
  });
}
