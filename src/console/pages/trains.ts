import type { FastifyInstance } from 'fastify';
import { sessionOf } from '../auth.js';
import type { ConsoleContext } from '../context.js';
import { html } from '../html.js';
import { localeOf } from '../request-language.js';
import { sendPage } from '../respond.js';
import { renderLegend, renderTrain } from './train-strip.js';

/** The home page: the current train and the last ones, each a strip of locks that updates live. */
export function registerTrainPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', async (request, reply) => {
    const l = localeOf(ctx, request);
    const trains = ctx.trains.snapshot();
    return sendPage(ctx, request, reply, {
      title: l.t('trains.title'),
      section: 'trains',
      scripts: ['trains.js'],
      // The script's own words come from here (data-*), so it speaks the page's language.
      body: html`<p class="live-line">${l.t('live.label')} <span id="live-status" class="connecting" role="status"
          data-live="${l.t('live.live')}" data-down="${l.t('live.reconnecting')}"
          data-stopped="${l.t('live.stopped')}">${l.t('live.connecting')}</span></p>
        ${renderLegend(l)}
        <p id="no-trains"${trains.length > 0 ? html` hidden` : ''}>${l.t('trains.none', {
          link: (chunks) => html`<a href="/manifests">${chunks}</a>`,
        })}</p>
        <div id="trains">${trains.map((train) => renderTrain(l, train))}</div>`,
    });
  });

  app.get('/api/trains', async () => ctx.trains.snapshot());

  app.get('/api/session', async (request) => {
    const s = sessionOf(request);
    return { user: s.user, name: s.name, roles: s.roles, language: localeOf(ctx, request).language };
  });
}
