import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCtopError } from '../../errors.js';
import {
  inspectManifest,
  type OpenedManifest,
  openManifest,
  type RoutingSummary,
} from '../../manifest/index.js';
import type { ManifestListEntry, ManifestQuery, ManifestRecord } from '../../store/index.js';
import { AUDITED_BY_HANDLER, audit, hasRole, sessionOf } from '../auth.js';
import type { ConsoleContext } from '../context.js';
import { formatTime } from '../format.js';
import { type Html, html } from '../html.js';
import { sendPage, sendProblem } from '../respond.js';
import {
  alertsList,
  goodsSection,
  readsTable,
  routingTable,
  syncLabel,
  verificationBadge,
} from './manifest-view.js';

const MANIFEST_ID = /^[0-9a-f]{64}$/;

type Filters = Pick<ManifestQuery, 'container' | 'wagon' | 'train'>;

function filtersOf(query: Record<string, unknown>): Filters {
  const pick = (name: string, upper = false) => {
    const v = query[name];
    if (typeof v !== 'string' || v.trim() === '') return undefined;
    const t = v.trim().slice(0, 40);
    return upper ? t.toUpperCase() : t;
  };
  const container = pick('container', true);
  const wagon = pick('wagon');
  const train = pick('train');
  return {
    ...(container ? { container } : {}),
    ...(wagon ? { wagon } : {}),
    ...(train ? { train } : {}),
  };
}

function listTable(rows: ManifestListEntry[]): Html {
  return html`<table class="list manifests"><thead><tr><th>Received</th><th>Container</th><th>Wagon</th><th>Train</th>
    <th>Lock</th><th>Route</th><th>Verification</th><th>Exchange</th><th>Alerts</th></tr></thead>
  <tbody>${rows.map((m) => {
    const r = m.routing ?? {};
    return html`<tr data-manifest-id="${m.manifestId}">
      <td><a href="/manifests/${m.manifestId}">${formatTime(m.receivedAt)}</a></td>
      <td>${r.container ?? '?'}</td><td>${r.wagon ?? '?'}</td><td>${r.train ?? ''}</td><td>${m.lockId ?? '?'}</td>
      <td>${r.departure ? `${r.departure} → ${r.destination}` : '?'}</td><td>${verificationBadge(m)}</td>
      <td>${m.payloadPurgedAt !== undefined ? 'acknowledged (purged)' : (m.syncState?.replace('_', ' ') ?? '—')}</td>
      <td>${m.alerts > 0 ? html`<span class="badge bad">${m.alerts}</span>` : ''}</td></tr>`;
  })}</tbody></table>`;
}

/** Re-inspects the stored bytes for the fields the store does not index (issuer, recipients, transit). */
function inspectStored(ctx: ConsoleContext, m: ManifestRecord): RoutingSummary | undefined {
  const bytes = ctx.store.manifests.bytes(m.manifestId);
  return bytes ? inspectManifest(bytes, ctx.trust).routing : undefined;
}

function goodsAccess(
  ctx: ConsoleContext,
  request: FastifyRequest,
  m: ManifestRecord,
  inspected: RoutingSummary | undefined,
): Html {
  const session = sessionOf(request);
  if (!hasRole(session, 'customs')) {
    return html`<p class="note" data-testid="goods-access">The goods are shown to officers with the customs role only.</p>`;
  }
  if (m.payloadPurgedAt !== undefined) {
    return html`<p class="note" data-testid="goods-access">The bytes were purged by retention after the exchange acknowledged them; the goods are at the exchange.</p>`;
  }
  const held = ctx.recipientKeys.filter((k) => inspected?.recipients.includes(k.kid));
  if (held.length === 0) {
    return html`<p class="note" data-testid="goods-access">This checkpoint holds no customs key the goods are encrypted for${
      inspected ? html` (encrypted for ${inspected.recipients.join(', ')})` : ''
    }.</p>`;
  }
  return html`<p data-testid="goods-access"><a class="button" href="/manifests/${m.manifestId}/goods">Show goods</a>
    <span class="note">decrypts with ${held[0]!.kid}; recorded in the audit trail</span></p>`;
}

function manifestPage(
  ctx: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  m: ManifestRecord,
  goods: { opened?: OpenedManifest; refused?: string },
  status = 200,
): FastifyReply {
  const inspected = inspectStored(ctx, m);
  const sync = syncLabel(ctx.store.outbox.forManifest(m.manifestId), m);
  const flagged =
    m.verification === 'valid'
      ? ''
      : html`<p class="problem" role="alert">Not valid data: kept as evidence, flagged and reported. It is never decrypted.</p>`;
  return sendPage(
    ctx,
    request,
    reply,
    {
      title: `Manifest ${m.routing?.container ?? m.manifestId.slice(0, 12)}`,
      section: 'manifests',
      body: html`${flagged}${routingTable(m, inspected, sync)}
        ${goods.opened ? goodsSection(goods.opened.body) : ''}
        ${goods.refused ? html`<p class="problem" role="alert" data-testid="goods-refused">${goods.refused}</p>` : ''}
        ${goods.opened || goods.refused ? '' : goodsAccess(ctx, request, m, inspected)}
        <h2>Reads</h2>${readsTable(ctx.store.reads.forManifest(m.manifestId))}
        ${alertsList(ctx.store.alerts.forManifest(m.manifestId))}`,
    },
    status,
  );
}

export function registerManifestPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/manifests', async (request, reply) => {
    const filters = filtersOf(request.query as Record<string, unknown>);
    const rows = ctx.store.manifests.list({ ...filters, limit: 200 });
    return sendPage(ctx, request, reply, {
      title: 'Manifests',
      section: 'manifests',
      body: html`<form method="get" action="/manifests" class="filters">
          <label>Container <input name="container" value="${filters.container ?? ''}" maxlength="40"></label>
          <label>Wagon <input name="wagon" value="${filters.wagon ?? ''}" maxlength="40"></label>
          <label>Train <input name="train" value="${filters.train ?? ''}" maxlength="40"></label>
          <button type="submit">Find</button></form>
        ${rows.length === 0 ? html`<p>No stored manifest matches.</p>` : listTable(rows)}
        ${rows.length === 200 ? html`<p class="note">The newest 200; narrow the search to see older ones.</p>` : ''}`,
    });
  });

  app.get('/manifests/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const m = MANIFEST_ID.test(id) ? ctx.store.manifests.get(id) : undefined;
    if (!m) return sendProblem(ctx, request, reply, 404, 'Not found', 'No stored manifest has this id.');
    return manifestPage(ctx, request, reply, m, {});
  });

  // Decrypting is an act of its own: one click by an officer with the customs role, written
  // to the audit trail with its outcome before any goods line is sent.
  app.get('/manifests/:id/goods', { config: AUDITED_BY_HANDLER }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const session = sessionOf(request);
    const record = (outcome: 'ok' | 'refused' | 'failed', detail?: string) =>
      audit(ctx, request, {
        officer: session.user,
        action: 'decrypt',
        target: id.slice(0, 64),
        outcome,
        ...(detail ? { detail } : {}),
      });
    const m = MANIFEST_ID.test(id) ? ctx.store.manifests.get(id) : undefined;
    if (!m) {
      record('refused', 'no such manifest');
      return sendProblem(ctx, request, reply, 404, 'Not found', 'No stored manifest has this id.');
    }
    if (!hasRole(session, 'customs')) {
      record('refused', 'officer without the customs role');
      return manifestPage(ctx, request, reply, m, { refused: 'Decrypting needs the customs role.' }, 403);
    }
    const bytes = ctx.store.manifests.bytes(id);
    if (!bytes) {
      record('refused', 'bytes purged by retention');
      return manifestPage(ctx, request, reply, m, { refused: 'The bytes were purged by retention.' }, 410);
    }
    const recipients = inspectManifest(bytes, ctx.trust).routing?.recipients ?? [];
    const key = ctx.recipientKeys.find((k) => recipients.includes(k.kid));
    if (!key) {
      record(
        'refused',
        `no recipient key held (encrypted for ${recipients.join(', ') || 'nobody readable'})`,
      );
      return manifestPage(
        ctx,
        request,
        reply,
        m,
        { refused: 'This checkpoint holds no customs key the goods are encrypted for.' },
        403,
      );
    }
    let opened: OpenedManifest;
    try {
      opened = openManifest(bytes, key, ctx.trust);
    } catch (err) {
      if (!isCtopError(err)) throw err;
      record('refused', `${err.code}: ${err.message}`);
      ctx.log.warn({ user: session.user, manifestId: id, code: err.code }, 'decrypt refused');
      return manifestPage(
        ctx,
        request,
        reply,
        m,
        { refused: `Not decrypted: ${err.code} — ${err.message}` },
        422,
      );
    }
    record('ok', `with ${key.kid}`);
    ctx.log.info({ user: session.user, manifestId: id, kid: key.kid }, 'manifest decrypted for an officer');
    return manifestPage(ctx, request, reply, m, { opened });
  });
}
