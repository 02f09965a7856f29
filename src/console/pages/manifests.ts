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
import { type Html, html } from '../html.js';
import type { MessageKey } from '../i18n/catalogues.js';
import type { Locale, MessageValues } from '../i18n/locale.js';
import { localeOf } from '../request-language.js';
import { sendPage, sendProblem, technicalDetail } from '../respond.js';
import {
  alertsList,
  goodsSection,
  readsTable,
  routingTable,
  syncLabel,
  verificationBadge,
} from './manifest-view.js';
import { code, errorCode, outboxStateWord } from './words.js';

const MANIFEST_ID = /^[0-9a-f]{64}$/;
const LIST_LIMIT = 200;
const NO_MANIFEST = { title: 'problem.notFound', message: 'problem.noManifest' } as const;

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

function listTable(l: Locale, rows: ManifestListEntry[]): Html {
  return html`<div class="scroll"><table class="list manifests"><thead><tr><th>${l.t('col.received')}</th>
    <th>${l.t('col.container')}</th><th>${l.t('col.wagon')}</th><th>${l.t('col.train')}</th><th>${l.t('col.lock')}</th>
    <th>${l.t('col.route')}</th><th>${l.t('col.verification')}</th><th>${l.t('col.exchange')}</th><th>${l.t('col.alerts')}</th></tr></thead>
  <tbody>${rows.map((m) => {
    const r = m.routing ?? {};
    return html`<tr data-manifest-id="${m.manifestId}">
      <td><a href="/manifests/${m.manifestId}">${l.time(m.receivedAt)}</a></td>
      <td translate="no">${r.container ?? '?'}</td><td translate="no">${r.wagon ?? '?'}</td>
      <td translate="no">${r.train ?? ''}</td><td translate="no">${m.lockId ?? '?'}</td>
      <td translate="no">${r.departure ? `${r.departure} → ${r.destination}` : '?'}</td><td>${verificationBadge(l, m)}</td>
      <td>${m.payloadPurgedAt !== undefined ? l.t('sync.purgedShort') : m.syncState ? outboxStateWord(l, m.syncState) : '—'}</td>
      <td>${m.alerts > 0 ? html`<span class="badge bad">${l.integer(m.alerts)}</span>` : ''}</td></tr>`;
  })}</tbody></table></div>`;
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
  const l = localeOf(ctx, request);
  const session = sessionOf(request);
  if (!hasRole(session, 'customs')) {
    return html`<p class="note" data-testid="goods-access">${l.t('goods.customsOnly')}</p>`;
  }
  if (m.payloadPurgedAt !== undefined) {
    return html`<p class="note" data-testid="goods-access">${l.t('goods.purged')}</p>`;
  }
  const held = ctx.recipientKeys.filter((k) => inspected?.recipients.includes(k.kid));
  if (held.length === 0) {
    return html`<p class="note" data-testid="goods-access">${l.t('goods.noKey')}${
      inspected
        ? html` ${l.t('goods.encryptedFor', { kids: html`${inspected.recipients.map((k, i) => html`${i > 0 ? ', ' : ''}${code(k)}`)}` })}`
        : ''
    }</p>`;
  }
  return html`<p data-testid="goods-access"><a class="button" href="/manifests/${m.manifestId}/goods">${l.t('goods.show')}</a>
    <span class="note">${l.t('goods.showNote', { kid: code(held[0]!.kid) })}</span></p>`;
}

/** Why the goods were not shown: a message of the catalogue, and the error as logged when there is one. */
interface Refusal {
  key: MessageKey;
  values?: MessageValues;
  detail?: string;
}

function manifestPage(
  ctx: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  m: ManifestRecord,
  goods: { opened?: OpenedManifest; refused?: Refusal },
  status = 200,
): FastifyReply {
  const l = localeOf(ctx, request);
  const inspected = inspectStored(ctx, m);
  const sync = syncLabel(l, ctx.store.outbox.forManifest(m.manifestId), m);
  const flagged =
    m.verification === 'valid' ? '' : html`<p class="problem" role="alert">${l.t('manifest.evidence')}</p>`;
  const refused = goods.refused;
  return sendPage(
    ctx,
    request,
    reply,
    {
      title: l.t('manifest.title', {
        container: html`<span translate="no">${m.routing?.container ?? m.manifestId.slice(0, 12)}</span>`,
      }),
      section: 'manifests',
      body: html`${flagged}${routingTable(l, m, inspected, sync)}
        ${goods.opened ? goodsSection(l, goods.opened.body) : ''}
        ${
          refused
            ? html`<p class="problem" role="alert" data-testid="goods-refused">${l.t(refused.key, refused.values)}</p>${
                refused.detail ? technicalDetail(l.t('detail.technical'), refused.detail) : ''
              }`
            : ''
        }
        ${goods.opened || refused ? '' : goodsAccess(ctx, request, m, inspected)}
        <h2>${l.t('reads.title')}</h2>${readsTable(l, ctx.store.reads.forManifest(m.manifestId))}
        ${alertsList(l, ctx.store.alerts.forManifest(m.manifestId))}`,
    },
    status,
  );
}

export function registerManifestPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/manifests', async (request, reply) => {
    const l = localeOf(ctx, request);
    const filters = filtersOf(request.query as Record<string, unknown>);
    const rows = ctx.store.manifests.list({ ...filters, limit: LIST_LIMIT });
    return sendPage(ctx, request, reply, {
      title: l.t('manifests.title'),
      section: 'manifests',
      body: html`<form method="get" action="/manifests" class="filters">
          <label>${l.t('filter.container')} <input name="container" value="${filters.container ?? ''}" maxlength="40"></label>
          <label>${l.t('filter.wagon')} <input name="wagon" value="${filters.wagon ?? ''}" maxlength="40"></label>
          <label>${l.t('filter.train')} <input name="train" value="${filters.train ?? ''}" maxlength="40"></label>
          <button type="submit">${l.t('filter.find')}</button></form>
        ${rows.length === 0 ? html`<p>${l.t('manifests.none')}</p>` : listTable(l, rows)}
        ${rows.length === LIST_LIMIT ? html`<p class="note">${l.t('manifests.limit', { count: LIST_LIMIT })}</p>` : ''}`,
    });
  });

  app.get('/manifests/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const m = MANIFEST_ID.test(id) ? ctx.store.manifests.get(id) : undefined;
    if (!m) return sendProblem(ctx, request, reply, 404, NO_MANIFEST);
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
      return sendProblem(ctx, request, reply, 404, NO_MANIFEST);
    }
    if (!hasRole(session, 'customs')) {
      record('refused', 'officer without the customs role');
      return manifestPage(ctx, request, reply, m, { refused: { key: 'goods.refusedRole' } }, 403);
    }
    const bytes = ctx.store.manifests.bytes(id);
    if (!bytes) {
      record('refused', 'bytes purged by retention');
      return manifestPage(ctx, request, reply, m, { refused: { key: 'goods.refusedPurged' } }, 410);
    }
    const recipients = inspectManifest(bytes, ctx.trust).routing?.recipients ?? [];
    const key = ctx.recipientKeys.find((k) => recipients.includes(k.kid));
    if (!key) {
      record(
        'refused',
        `no recipient key held (encrypted for ${recipients.join(', ') || 'nobody readable'})`,
      );
      return manifestPage(ctx, request, reply, m, { refused: { key: 'goods.noKey' } }, 403);
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
        {
          refused: {
            key: 'goods.refusedError',
            values: { what: errorCode(localeOf(ctx, request), err.code) },
            detail: `${err.code}: ${err.message}`,
          },
        },
        422,
      );
    }
    record('ok', `with ${key.kid}`);
    ctx.log.info({ user: session.user, manifestId: id, kid: key.kid }, 'manifest decrypted for an officer');
    return manifestPage(ctx, request, reply, m, { opened });
  });
}
