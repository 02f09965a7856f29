import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleContext } from './context.js';
import { html } from './html.js';
import { type PageOptions, page } from './layout.js';
import { currentSession } from './request-session.js';

/** Sends a full page in the console's frame, with the officer's session in the header. */
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
    },
    options,
  );
  return reply.code(status).type('text/html; charset=utf-8').send(body.value);
}

/** A short page that says what went wrong and what to do; no stack, no internals. */
export function sendProblem(
  ctx: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  message: string,
): FastifyReply {
  if (isDataPath(request.url)) return reply.code(status).send({ error: title, message });
  return sendPage(
    ctx,
    request,
    reply,
    { title, section: 'trains', body: html`<p class="problem" role="alert">${message}</p>` },
    status,
  );
}

/** JSON and event streams: refused with a status, never redirected to a login page. */
export function isDataPath(url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/events/');
}
