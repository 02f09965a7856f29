import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleContext } from './context.js';
import { type Html, html } from './html.js';
import type { MessageKey } from './i18n/catalogues.js';
import type { MessageValues } from './i18n/locale.js';
import { type PageOptions, page } from './layout.js';
import { localeOf } from './request-language.js';
import { currentSession } from './request-session.js';

/** Sends a full page in the console's frame, in the officer's language, with the session in the header. */
export function sendPage(
  ctx: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  options: PageOptions,
  status = 200,
): FastifyReply {
  const session = currentSession(request);
  const body = page(
    {
      site: ctx.site,
      ...(ctx.metricsPath ? { metricsPath: ctx.metricsPath } : {}),
      ...(session ? { session } : {}),
      locale: localeOf(ctx, request),
      path: request.url,
    },
    options,
  );
  return reply.code(status).type('text/html; charset=utf-8').send(body.value);
}

/** What went wrong, for `sendProblem`: a title and a message from the catalogue, and the technical detail if any. */
export interface Problem {
  title: MessageKey;
  message: MessageKey;
  values?: MessageValues;
  /** As the agent logged it (English): shown folded, marked as English. */
  detail?: string;
}

/** A short page that says what went wrong and what to do; no stack, no internals. */
export function sendProblem(
  ctx: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  problem: Problem,
): FastifyReply {
  const l = localeOf(ctx, request);
  if (isDataPath(request.url)) {
    return reply
      .code(status)
      .send({ error: problem.title, message: l.t(problem.message, problem.values).value });
  }
  return sendPage(
    ctx,
    request,
    reply,
    {
      title: l.t(problem.title),
      section: 'trains',
      body: html`<p class="problem" role="alert">${l.t(problem.message, problem.values)}</p>${
        problem.detail ? technicalDetail(l.t('detail.technical'), problem.detail) : ''
      }`,
    },
    status,
  );
}

/**
 * Text the agent wrote for engineers (an error message, an alert's detail as recorded):
 * folded under a summary in the officer's language, and marked as the English it is.
 */
export function technicalDetail(summary: Html, text: string): Html {
  return html`<details class="technical"><summary>${summary}</summary><p lang="en" translate="no">${text}</p></details>`;
}

/** JSON and event streams: refused with a status, never redirected to a login page. */
export function isDataPath(url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/events/');
}
