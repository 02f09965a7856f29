import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { formatDuration, formatTime } from '../format.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';

const DAY_MS = 86_400_000;

/** Exchange outages with start, end and cause (traceability agreement Art. 11), and the daily figures (CTOP Art. 5). */
export function registerOutagesPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/outages', async (request, reply) => {
    const now = ctx.clock.now();
    const outages = ctx.store.outages.list(now - 90 * DAY_MS).reverse();
    const days = ctx.store.exchangeStats
      .list(new Date(now - 14 * DAY_MS).toISOString().slice(0, 10))
      .reverse();
    return sendPage(ctx, request, reply, {
      title: 'Outages',
      section: 'outages',
      body: html`${
        outages.length === 0
          ? html`<p data-testid="no-outages">No exchange outage in the last 90 days.</p>`
          : html`<table class="list" data-testid="outages"><thead><tr><th>Started</th><th>Ended</th><th>Duration</th>
              <th>Cause</th><th>Detail</th><th>Reported to the exchange</th></tr></thead>
            <tbody>${outages.map(
              (o) => html`<tr class="${o.endedAt === undefined ? 'open' : ''}" data-outage-id="${o.id}"
                  data-open="${o.endedAt === undefined ? 'true' : 'false'}">
                <td>${formatTime(o.startedAt)}</td>
                <td>${o.endedAt === undefined ? html`<strong>open</strong>` : formatTime(o.endedAt)}</td>
                <td>${formatDuration((o.endedAt ?? now) - o.startedAt)}</td>
                <td class="cause">${o.cause}</td><td>${o.detail ?? ''}</td>
                <td>${o.reportedAt === undefined ? (o.endedAt === undefined ? '' : 'not yet') : formatTime(o.reportedAt)}</td></tr>`,
            )}</tbody></table>`
      }
      <h2>Exchange, day by day (UTC)</h2>
      ${
        days.length === 0
          ? html`<p>No exchange traffic recorded in the last 14 days.</p>`
          : html`<table class="list"><thead><tr><th>Day</th><th>Sent</th><th>Accepted</th><th>Rejected</th><th>Resends</th>
              <th>Outage</th></tr></thead><tbody>${days.map(
                (
                  d,
                ) => html`<tr><td>${d.day}</td><td class="num">${d.messagesSent}</td><td class="num">${d.receiptsAccepted}</td>
                  <td class="num">${d.receiptsRejected}</td><td class="num">${d.resends}</td>
                  <td class="num">${formatDuration(d.outageSeconds * 1000)}</td></tr>`,
              )}</tbody></table>`
      }`,
    });
  });
}
