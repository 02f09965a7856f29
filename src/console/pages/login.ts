import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { audit, currentSession, currentSessionId, safeNext } from '../auth.js';
import type { ConsoleContext } from '../context.js';
import { html } from '../html.js';
import type { MessageKey } from '../i18n/catalogues.js';
import { isLanguage } from '../i18n/languages.js';
import { DEFAULT_SCRYPT, type ParsedHash, verifyPassword } from '../passwords.js';
import { LANGUAGE_COOKIE, localeOf } from '../request-language.js';
import { sendPage } from '../respond.js';
import { NO_STORE } from '../security-headers.js';
import type { TrainEvents } from '../train-events.js';

interface LoginBody {
  user?: unknown;
  password?: unknown;
  next?: unknown;
}

/**
 * Checked when the user name is unknown, so that a wrong name costs the same scrypt time
 * as a wrong password and the answer's timing does not tell which accounts exist.
 */
const NOBODY: ParsedHash = { params: DEFAULT_SCRYPT, salt: randomBytes(16), hash: randomBytes(32) };

function loginForm(
  ctx: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  options: {
    next: string;
    user?: string;
    problem?: { key: MessageKey; wait?: number };
    status?: number;
  },
): FastifyReply {
  const l = localeOf(ctx, request);
  const problem = options.problem;
  return sendPage(
    ctx,
    request,
    reply,
    {
      title: l.t('login.title'),
      section: 'login',
      body: html`${
        problem
          ? html`<p class="problem" role="alert">${l.t(problem.key, { wait: l.duration(problem.wait ?? 0) })}</p>`
          : ''
      }
        <form method="post" action="/login" class="login">
          <input type="hidden" name="next" value="${options.next}">
          <label>${l.t('login.user')} <input name="user" autocomplete="username" required maxlength="64"
            autocapitalize="none" spellcheck="false" value="${options.user ?? ''}" autofocus></label>
          <label>${l.t('login.password')} <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
          <button type="submit">${l.t('login.submit')}</button>
        </form>
        <p class="note">${l.t('login.accounts')}</p>`,
    },
    options.status ?? 200,
  );
}

export function registerLoginPages(app: FastifyInstance, ctx: ConsoleContext, events: TrainEvents): void {
  app.get('/login', async (request, reply) => {
    const next = safeNext((request.query as { next?: unknown }).next);
    if (currentSession(request)) return reply.redirect(next, 303);
    return loginForm(ctx, request, reply, { next });
  });

  app.post('/login', async (request, reply) => {
    const body = (request.body ?? {}) as LoginBody;
    const user = typeof body.user === 'string' ? body.user.trim().toLowerCase().slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const next = safeNext(body.next);
    const remote = request.ip;
    const keys = [`address:${remote}`, `user:${user}`];

    const wait = ctx.limiter.retryAfterMs(keys);
    if (wait > 0) {
      // Not written to the audit trail: a refused flood must not fill the disk. The
      // failures that led here are in it, and the log says when the lock-out bites.
      ctx.log.warn(
        { user: ctx.officers.has(user) ? user : '-', remote, retryAfterMs: wait },
        'login refused: too many failed attempts',
      );
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return loginForm(ctx, request, reply, {
        next,
        user,
        status: 429,
        problem: { key: 'login.tooMany', wait },
      });
    }

    const officer = ctx.officers.get(user);
    const matches = await verifyPassword(password, officer?.password ?? NOBODY);
    if (!officer || !matches) {
      ctx.limiter.failed(keys);
      audit(ctx, request, {
        // An unknown name is not recorded: it may be a password typed into the wrong field.
        officer: officer ? officer.user : '-',
        action: 'login_failed',
        outcome: 'refused',
        detail: officer ? 'wrong password' : 'unknown user name',
      });
      ctx.log.warn({ user: officer ? officer.user : '-', remote }, 'login failed');
      return loginForm(ctx, request, reply, {
        next,
        user,
        status: 401,
        problem: { key: 'login.wrong' },
      });
    }

    ctx.limiter.succeeded(`user:${user}`);
    const old = currentSessionId(request);
    if (old) ctx.sessions.destroy(old);
    const { id } = ctx.sessions.create(officer, remote);
    // A language chosen on the login page becomes the account's, unless it has one already.
    const chosen = request.cookies[LANGUAGE_COOKIE];
    if (!ctx.languages.has(officer.user) && isLanguage(chosen)) ctx.languages.set(officer.user, chosen);
    audit(ctx, request, { officer: officer.user, action: 'login' });
    ctx.log.info({ user: officer.user, remote, roles: officer.roles }, 'officer logged in');
    reply.setCookie(ctx.cookieName, id, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secureCookie,
    });
    reply.header('cache-control', NO_STORE);
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (request, reply) => {
    const id = currentSessionId(request);
    const session = currentSession(request);
    if (id) {
      ctx.sessions.destroy(id);
      events.endSession(id);
    }
    if (session) {
      audit(ctx, request, { officer: session.user, action: 'logout' });
      ctx.log.info({ user: session.user }, 'officer logged out');
    }
    reply.clearCookie(ctx.cookieName, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secureCookie,
    });
    return reply.redirect('/login', 303);
  });
}
