import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { formatDuration, formatTime } from '../format.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';

/** What is waiting to reach the customs exchange: the backlog, its oldest row, the rejections with their reasons. */
export function registerOutboxPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/outbox', async (request, reply) => {
    const now = ctx.clock.now();
    const status = ctx.store.outbox.status(now);
    const outage = ctx.store.outages.current();
    const alarm = ctx.store.alarm;
    const c = status.counts;
    const backlog = c.queued + c.in_flight;
    return sendPage(ctx, request, reply, {
      title: 'Outbox',
      section: 'outbox',
      body: html`<dl class="figures" data-testid="outbox-figures">
          <div><dt>Backlog</dt><dd data-figure="backlog">${backlog}</dd></div>
          <div><dt>Queued</dt><dd data-figure="queued">${c.queued}</dd></div>
          <div><dt>In flight</dt><dd data-figure="in_flight">${c.in_flight}</dd></div>
          <div><dt>Acknowledged</dt><dd data-figure="acknowledged">${c.acknowledged}</dd></div>
          <div><dt>Rejected</dt><dd data-figure="rejected">${c.rejected}</dd></div>
        </dl>
        <p data-testid="oldest">${
          status.oldestUnacknowledgedAt === undefined
            ? 'Oldest unacknowledged: none — everything stored has reached the exchange.'
            : `Oldest unacknowledged: stored ${formatTime(status.oldestUnacknowledgedAt)}, waiting ${formatDuration(status.oldestUnacknowledgedAgeMs!)}.`
        }${status.nextAttemptAt !== undefined ? ` Next attempt ${formatTime(status.nextAttemptAt)}.` : ''}</p>
        <p data-testid="outage-line" class="${outage ? 'problem' : ''}">${
          outage
            ? html`Exchange unreachable since ${formatTime(outage.startedAt)} (${formatDuration(now - outage.startedAt)}): ${outage.cause}. See <a href="/outages">Outages</a>.`
            : 'Exchange outage: none open.'
        }</p>
        <p class="${alarm.state === 'ok' ? '' : 'problem'}">${
          alarm.state === 'ok'
            ? 'Store: room for new reads.'
            : `Store FULL since ${formatTime(alarm.since)}: ${alarm.reason}. New reads are refused; syncing goes on.`
        }</p>
        <h2>Rejected by the exchange</h2>
        ${
          status.rejected.length === 0
            ? html`<p data-testid="no-rejections">None.</p>`
            : html`<p class="note">Quarantined, never deleted: the exchange said why in its signed receipt.</p>
              <table class="list" data-testid="rejections"><thead><tr><th>Row</th><th>Kind</th><th>Reason</th><th>At</th><th>Manifest</th></tr></thead>
              <tbody>${status.rejected.map(
                (
                  r,
                ) => html`<tr><td>${r.id}</td><td>${r.kind}</td><td class="reason">${r.reasonCode ?? '?'}</td><td>${formatTime(r.at)}</td>
                  <td>${r.manifestId ? html`<a href="/manifests/${r.manifestId}">${r.manifestId.slice(0, 12)}…</a>` : ''}</td></tr>`,
              )}</tbody></table>`
        }`,
    });
  });
}
