import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { html } from '../html.js';
import { localeOf } from '../request-language.js';
import { sendPage, technicalDetail } from '../respond.js';
import { alertWord } from './words.js';

const DAY_MS = 86_400_000;
const WINDOWS = [7, 30, 365];

/** Lock alerts (clone, tamper, manifests that do not verify), newest first. */
export function registerAlertsPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/alerts', async (request, reply) => {
    const l = localeOf(ctx, request);
    const q = Number((request.query as { days?: string }).days);
    const days = Number.isInteger(q) && q >= 1 && q <= 3650 ? q : 30;
    const alerts = ctx.store.alerts.raisedSince(ctx.clock.now() - days * DAY_MS).reverse();
    return sendPage(ctx, request, reply, {
      title: l.t('alerts.pageTitle'),
      section: 'alerts',
      body: html`<p>${l.t('alerts.window', {
        days,
        links: html`${WINDOWS.map((d, i) => html`${i > 0 ? ' · ' : ''}<a href="/alerts?days=${d}">${l.t('alerts.days', { days: d })}</a>`)}`,
      })}</p>
        ${
          alerts.length === 0
            ? html`<p data-testid="no-alerts">${l.t('alerts.none')}</p>`
            : html`<div class="scroll"><table class="list" data-testid="alerts"><thead><tr><th>${l.t('col.raised')}</th>
                <th>${l.t('col.kind')}</th><th>${l.t('col.lock')}</th><th>${l.t('col.seen')}</th><th>${l.t('col.manifest')}</th>
                </tr></thead>
              <tbody>${alerts.map(
                (a) => html`<tr class="alert k-${a.kind}" data-kind="${a.kind}"><td>${l.time(a.raisedAt)}</td>
                  <td><strong>${alertWord(l, a.kind)}</strong>${technicalDetail(l.t('detail.technical'), a.detail)}</td>
                  <td translate="no">${a.lockId ?? '?'}</td>
                  <td>${l.t('alerts.seen', { count: a.occurrences, at: l.time(a.lastSeenAt) })}</td>
                  <td>${a.manifestId ? html`<a href="/manifests/${a.manifestId}"><code translate="no">${a.manifestId.slice(0, 12)}…</code></a>` : ''}</td></tr>`,
              )}</tbody></table></div>`
        }`,
    });
  });
}
