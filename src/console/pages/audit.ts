import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { type Html, html } from '../html.js';
import type { MessageKey } from '../i18n/catalogues.js';
import type { Locale } from '../i18n/locale.js';
import { localeOf } from '../request-language.js';
import { sendPage, technicalDetail } from '../respond.js';
import { auditActionWord, auditOutcomeWord, code, errorCode } from './words.js';

const PAGE = 200;

/** The details the console writes into the trail (login.ts, manifests.ts), in English as recorded. */
const DETAILS: Record<string, MessageKey> = {
  'wrong password': 'audit.detail.wrongPassword',
  'unknown user name': 'audit.detail.unknownUser',
  'no such manifest': 'audit.detail.noManifest',
  'officer without the customs role': 'audit.detail.noRole',
  'bytes purged by retention': 'audit.detail.purged',
};

/** The recorded detail in the officer's words when it is one the console wrote; else as recorded, folded. */
function detail(l: Locale, text: string | undefined): Html | string {
  if (!text) return '';
  const fixed = Object.hasOwn(DETAILS, text) ? DETAILS[text] : undefined;
  if (fixed) return l.t(fixed);
  const key = /^with ([\x21-\x7e]+)$/.exec(text);
  if (key) return l.t('audit.detail.withKey', { kid: code(key[1]!) });
  if (text.startsWith('no recipient key held')) {
    return html`${l.t('audit.detail.noKey')}${technicalDetail(l.t('detail.technical'), text)}`;
  }
  const coded = /^(E_[A-Z0-9_]+)(?::|$)/.exec(text);
  if (coded) return html`${errorCode(l, coded[1]!)}${technicalDetail(l.t('detail.technical'), text)}`;
  return technicalDetail(l.t('detail.technical'), text);
}

/** The audit trail: who looked at what, who decrypted which manifest (EurAsEC 2009 Art. 11). */
export function registerAuditPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/audit', async (request, reply) => {
    const l = localeOf(ctx, request);
    const query = request.query as { officer?: string; before?: string };
    const officer =
      typeof query.officer === 'string' && /^[a-z-][a-z0-9._-]{0,63}$/.test(query.officer)
        ? query.officer
        : undefined;
    const before = Number(query.before);
    const entries = ctx.store.audit.list({
      ...(officer ? { officer } : {}),
      ...(Number.isSafeInteger(before) && before > 0 ? { beforeId: before } : {}),
      limit: PAGE,
    });
    const older = entries.length === PAGE ? entries.at(-1)!.id : undefined;
    return sendPage(ctx, request, reply, {
      title: l.t('audit.title'),
      section: 'audit',
      body: html`<form method="get" action="/audit" class="filters">
          <label>${l.t('filter.officer')} <input name="officer" value="${officer ?? ''}" maxlength="64"></label>
          <button type="submit">${l.t('filter.apply')}</button></form>
        <p class="note">${l.t('audit.note')}</p>
        <div class="scroll"><table class="list" data-testid="audit"><thead><tr><th>${l.t('col.at')}</th><th>${l.t('col.officer')}</th>
          <th>${l.t('col.action')}</th><th>${l.t('col.target')}</th><th>${l.t('col.outcome')}</th><th>${l.t('col.from')}</th>
          <th>${l.t('col.detail')}</th></tr></thead>
        <tbody>${entries.map(
          (e) => html`<tr data-action="${e.action}" data-outcome="${e.outcome}" data-officer="${e.officer}"
              data-target="${e.target ?? ''}" class="${e.outcome === 'ok' ? '' : 'bad'}">
            <td>${l.time(e.at)}</td><td translate="no">${e.officer}</td><td>${auditActionWord(l, e.action)}</td>
            <td class="target"><code translate="no">${e.target ?? ''}</code></td>
            <td>${auditOutcomeWord(l, e.outcome)}</td><td translate="no">${e.remote ?? ''}</td><td>${detail(l, e.detail)}</td></tr>`,
        )}</tbody></table></div>
        ${
          older !== undefined
            ? html`<p><a href="/audit?${officer ? `officer=${encodeURIComponent(officer)}&` : ''}before=${older}">${l.t('audit.older')}</a></p>`
            : ''
        }`,
    });
  });
}
