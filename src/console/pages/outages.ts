import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { html } from '../html.js';
import { localeOf } from '../request-language.js';
import { sendPage, technicalDetail } from '../respond.js';
import { causeWord } from './words.js';

const DAY_MS = 86_400_000;

/** Exchange outages with start, end and cause (traceability agreement Art. 11), and the daily figures (CTOP Art. 5). */
export function registerOutagesPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/outages', async (request, reply) => {
    const l = localeOf(ctx, request);
    const now = ctx.clock.now();
    const outages = ctx.store.outages.list(now - 90 * DAY_MS).reverse();
    const days = ctx.store.exchangeStats
      .list(new Date(now - 14 * DAY_MS).toISOString().slice(0, 10))
      .reverse();
    return sendPage(ctx, request, reply, {
      title: l.t('outages.title'),
      section: 'outages',
      body: html`${
        outages.length === 0
          ? html`<p data-testid="no-outages">${l.t('outages.none')}</p>`
          : html`<div class="scroll"><table class="list" data-testid="outages"><thead><tr><th>${l.t('col.started')}</th>
              <th>${l.t('col.ended')}</th><th>${l.t('col.duration')}</th><th>${l.t('col.cause')}</th>
              <th>${l.t('col.reported')}</th></tr></thead>
            <tbody>${outages.map(
              (o) => html`<tr class="${o.endedAt === undefined ? 'open' : ''}" data-outage-id="${o.id}"
                  data-open="${o.endedAt === undefined ? 'true' : 'false'}">
                <td>${l.time(o.startedAt)}</td>
                <td class="ended">${o.endedAt === undefined ? html`<strong>${l.t('outages.open')}</strong>` : l.time(o.endedAt)}</td>
                <td>${l.duration((o.endedAt ?? now) - o.startedAt)}</td>
                <td class="cause" data-cause="${o.cause}">${causeWord(l, o.cause)}${
                  o.detail ? technicalDetail(l.t('detail.technical'), o.detail) : ''
                }</td>
                <td class="reported">${o.reportedAt === undefined ? (o.endedAt === undefined ? '' : l.t('outages.notYet')) : l.time(o.reportedAt)}</td></tr>`,
            )}</tbody></table></div>`
      }
      <h2>${l.t('outages.daily')}</h2>
      ${
        days.length === 0
          ? html`<p>${l.t('outages.noTraffic')}</p>`
          : html`<div class="scroll"><table class="list"><thead><tr><th>${l.t('col.day')}</th><th>${l.t('col.sent')}</th>
              <th>${l.t('col.accepted')}</th><th>${l.t('col.rejectedCount')}</th><th>${l.t('col.resends')}</th>
              <th>${l.t('col.outageTime')}</th></tr></thead><tbody>${days.map(
                (d) => html`<tr><td>${l.day(d.day)}</td><td class="num">${l.integer(d.messagesSent)}</td>
                  <td class="num">${l.integer(d.receiptsAccepted)}</td><td class="num">${l.integer(d.receiptsRejected)}</td>
                  <td class="num">${l.integer(d.resends)}</td><td class="num">${l.duration(d.outageSeconds * 1000)}</td></tr>`,
              )}</tbody></table></div>`
      }`,
    });
  });
}
