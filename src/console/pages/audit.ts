import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { formatTime } from '../format.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';

const PAGE = 200;

/** The audit trail: who looked at what, who decrypted which manifest (EurAsEC 2009 Art. 11). */
export function registerAuditPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/audit', async (request, reply) => {
    const query = request.query as { officer?: string; before?: string };
    const officer =
      typeof query.officer === 'string' && /^[a-z-][a-z0-9._-]{0,63}$/.test(query.officer)
        ? query.officer
        : undefined;
    const before = Number(query.before);
    const entries = ctx.store.audit.list({
      ...(officer ? { officer } : {}),
      ...(Number.isSafeInteger(before) && before > 0 ? { beforeId: before } : {}),
      limit: PAGE,
    });
    const older = entries.length === PAGE ? entries.at(-1)!.id : undefined;
    return sendPage(ctx, request, reply, {
      title: 'Audit trail',
      section: 'audit',
      body: html`<form method="get" action="/audit" class="filters">
          <label>Officer <input name="officer" value="${officer ?? ''}" maxlength="64"></label>
          <button type="submit">Filter</button></form>
        <p class="note">Append-only; kept for the traceability period. Your own view of this page is its newest line.</p>
        <table class="list" data-testid="audit"><thead><tr><th>At</th><th>Officer</th><th>Action</th><th>Target</th>
          <th>Outcome</th><th>From</th><th>Detail</th></tr></thead>
        <tbody>${entries.map(
          (
            e,
          ) => html`<tr data-action="${e.action}" data-outcome="${e.outcome}" class="${e.outcome === 'ok' ? '' : 'bad'}">
            <td>${formatTime(e.at)}</td><td>${e.officer}</td><td>${e.action}</td><td class="target">${e.target ?? ''}</td>
            <td>${e.outcome}</td><td>${e.remote ?? ''}</td><td>${e.detail ?? ''}</td></tr>`,
        )}</tbody></table>
        ${
          older !== undefined
            ? html`<p><a href="/audit?${officer ? `officer=${encodeURIComponent(officer)}&` : ''}before=${older}">Older entries</a></p>`
            : ''
        }`,
    });
  });
}
