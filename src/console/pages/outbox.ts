import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { html } from '../html.js';
import type { MessageKey } from '../i18n/catalogues.js';
import { localeOf } from '../request-language.js';
import { sendPage, technicalDetail } from '../respond.js';
import { causeWord, outboxKindWord, receiptReason } from './words.js';

const FIGURES: [string, MessageKey][] = [
  ['backlog', 'fig.backlog'],
  ['queued', 'fig.queued'],
  ['in_flight', 'fig.inFlight'],
  ['acknowledged', 'fig.acknowledged'],
  ['rejected', 'fig.rejected'],
];

/** What is waiting to reach the customs exchange: the backlog, its oldest row, the rejections with their reasons. */
export function registerOutboxPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/outbox', async (request, reply) => {
    const l = localeOf(ctx, request);
    const now = ctx.clock.now();
    const status = ctx.store.outbox.status(now);
    const outage = ctx.store.outages.current();
    const alarm = ctx.store.alarm;
    const c = status.counts;
    const figures: Record<string, number> = { ...c, backlog: c.queued + c.in_flight };
    const oldest =
      status.oldestUnacknowledgedAt === undefined
        ? l.t('outbox.oldestNone')
        : l.t('outbox.oldest', {
            at: l.time(status.oldestUnacknowledgedAt),
            wait: l.duration(status.oldestUnacknowledgedAgeMs ?? 0),
          });
    return sendPage(ctx, request, reply, {
      title: l.t('outbox.title'),
      section: 'outbox',
      body: html`<dl class="figures" data-testid="outbox-figures">${FIGURES.map(
        ([figure, key]) =>
          html`<div><dt>${l.t(key)}</dt><dd data-figure="${figure}" data-value="${figures[figure] ?? 0}">${l.integer(figures[figure] ?? 0)}</dd></div>`,
      )}</dl>
        <p data-testid="oldest">${oldest}${
          status.nextAttemptAt !== undefined
            ? html` ${l.t('outbox.nextAttempt', { at: l.time(status.nextAttemptAt) })}`
            : ''
        }</p>
        <p data-testid="outage-line" data-open="${outage ? 'true' : 'false'}" class="${outage ? 'problem' : ''}">${
          outage
            ? l.t('outbox.outage', {
                at: l.time(outage.startedAt),
                duration: l.duration(now - outage.startedAt),
                cause: html`<span data-cause="${outage.cause}">${causeWord(l, outage.cause)}</span>`,
                link: (chunks) => html`<a href="/outages">${chunks}</a>`,
              })
            : l.t('outbox.noOutage')
        }</p>
        <p data-testid="store-alarm" class="${alarm.state === 'ok' ? '' : 'problem'}">${
          alarm.state === 'ok'
            ? l.t('outbox.storeOk')
            : html`${l.t('outbox.storeFull', { at: l.time(alarm.since) })}${technicalDetail(l.t('detail.technical'), alarm.reason)}`
        }</p>
        <h2>${l.t('outbox.rejectedTitle')}</h2>
        ${
          status.rejected.length === 0
            ? html`<p data-testid="no-rejections">${l.t('outbox.noRejections')}</p>`
            : html`<p class="note">${l.t('outbox.quarantined')}</p>
              <div class="scroll"><table class="list" data-testid="rejections"><thead><tr><th>${l.t('col.row')}</th><th>${l.t('col.kind')}</th>
                <th>${l.t('col.reason')}</th><th>${l.t('col.at')}</th><th>${l.t('col.manifest')}</th></tr></thead>
              <tbody>${status.rejected.map(
                (r) => html`<tr><td class="num">${r.id}</td><td>${outboxKindWord(l, r.kind)}</td>
                  <td class="reason" data-reason="${r.reasonCode ?? ''}">${r.reasonCode ? receiptReason(l, r.reasonCode) : '?'}</td><td>${l.time(r.at)}</td>
                  <td>${r.manifestId ? html`<a href="/manifests/${r.manifestId}"><code translate="no">${r.manifestId.slice(0, 12)}…</code></a>` : ''}</td></tr>`,
              )}</tbody></table></div>`
        }`,
    });
  });
}
