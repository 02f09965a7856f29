import type { FastifyRequest } from 'fastify';
import type { ConsoleContext } from './context.js';
import { DEFAULT_LANGUAGE, fromAcceptLanguage, isLanguage, type Language } from './i18n/languages.js';
import { type Locale, localeFor } from './i18n/locale.js';
import { currentSession } from './request-session.js';

/** The cookie that keeps a browser's choice, so the login page speaks it too. Not secret. */
export const LANGUAGE_COOKIE = 'ctop_lang';

const chosen = new WeakMap<FastifyRequest, Locale>();

/**
 * The language a request is answered in: the officer's own choice (remembered for the
 * account), else the choice made in this browser (the cookie, e.g. on the login page),
 * else the browser's Accept-Language, else English.
 */
export function languageOf(ctx: ConsoleContext, request: FastifyRequest): Language {
  const session = currentSession(request);
  const remembered = session ? ctx.languages.get(session.user) : undefined;
  if (remembered) return remembered;
  const cookie = request.cookies?.[LANGUAGE_COOKIE];
  if (isLanguage(cookie)) return cookie;
  return fromAcceptLanguage(request.headers['accept-language']) ?? DEFAULT_LANGUAGE;
}

export function localeOf(ctx: ConsoleContext, request: FastifyRequest): Locale {
  let locale = chosen.get(request);
  if (!locale) {
    locale = localeFor(languageOf(ctx, request));
    chosen.set(request, locale);
  }
  return locale;
}
