import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { formatTime } from '../format.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';

const DAY_MS = 86_400_000;

/** Lock alerts (clone, tamper, manifests that do not verify), newest first. */
export function registerAlertsPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/alerts', async (request, reply) => {
    const q = Number((request.query as { days?: string }).days);
    const days = Number.isInteger(q) && q >= 1 && q <= 3650 ? q : 30;
    const alerts = ctx.store.alerts.raisedSince(ctx.clock.now() - days * DAY_MS).reverse();
    return sendPage(ctx, request, reply, {
      title: 'Lock alerts',
      section: 'alerts',
      body: html`<p>Raised in the last ${days} day${days === 1 ? '' : 's'}
          (<a href="/alerts?days=7">7</a> · <a href="/alerts?days=30">30</a> · <a href="/alerts?days=365">365</a>).</p>
        ${
          alerts.length === 0
            ? html`<p data-testid="no-alerts">No alert.</p>`
            : html`<table class="list" data-testid="alerts"><thead><tr><th>Raised</th><th>Kind</th><th>Lock</th><th>Detail</th>
                <th>Seen</th><th>Manifest</th></tr></thead>
              <tbody>${alerts.map(
                (
                  a,
                ) => html`<tr class="alert k-${a.kind}" data-kind="${a.kind}"><td>${formatTime(a.raisedAt)}</td>
                  <td><strong>${a.kind.replace('_', ' ').toUpperCase()}</strong></td><td>${a.lockId ?? '?'}</td>
                  <td>${a.detail}</td><td>${a.occurrences}×, last ${formatTime(a.lastSeenAt)}</td>
                  <td>${a.manifestId ? html`<a href="/manifests/${a.manifestId}">${a.manifestId.slice(0, 12)}…</a>` : ''}</td></tr>`,
              )}</tbody></table>`
        }`,
    });
  });
}
