import type { FastifyInstance } from 'fastify';
import { sessionOf } from '../auth.js';
import type { ConsoleContext } from '../context.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';
import { renderLegend, renderTrain } from './train-strip.js';

/** The home page: the current train and the last ones, each a strip of locks that updates live. */
export function registerTrainPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', async (request, reply) => {
    const trains = ctx.trains.snapshot();
    return sendPage(ctx, request, reply, {
      title: 'Trains',
      section: 'trains',
      scripts: ['trains.js'],
      body: html`<p class="live-line">Live: <span id="live-status" class="connecting" role="status">connecting…</span></p>
        ${renderLegend()}
        <p id="no-trains"${trains.length > 0 ? html` hidden` : ''}>No train read since the agent started.
          Stored manifests are under <a href="/manifests">Manifests</a>.</p>
        <div id="trains">${trains.map(renderTrain)}</div>`,
    });
  });

  app.get('/api/trains', async () => ctx.trains.snapshot());

  app.get('/api/session', async (request) => {
    const s = sessionOf(request);
    return { user: s.user, name: s.name, roles: s.roles };
  });
}
