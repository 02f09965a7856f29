import { type Html, type HtmlValue, html, trusted } from './html.js';
import type { MessageKey } from './i18n/catalogues.js';
import { LANGUAGE_INFO, LANGUAGES } from './i18n/languages.js';
import type { Locale } from './i18n/locale.js';
import type { OfficerRole } from './officers.js';
import type { Session } from './sessions.js';

export interface PageContext {
  /** Shown in the header, e.g. "Dostyk — gw-dostyk-1". */
  site: string;
  /** Link to the daemon's Prometheus metrics; no link when absent. */
  metricsPath?: string;
  session?: Session;
  locale: Locale;
  /** Where the language switcher returns to: the page being shown. */
  path: string;
}

export type Section = 'trains' | 'manifests' | 'outbox' | 'outages' | 'alerts' | 'audit' | 'login';

const NAV: [Section, string, MessageKey][] = [
  ['trains', '/', 'nav.trains'],
  ['manifests', '/manifests', 'nav.manifests'],
  ['outbox', '/outbox', 'nav.outbox'],
  ['outages', '/outages', 'nav.outages'],
  ['alerts', '/alerts', 'nav.alerts'],
  ['audit', '/audit', 'nav.audit'],
];

export const ROLE_KEYS: Record<OfficerRole, MessageKey> = {
  customs: 'role.customs',
  viewer: 'role.viewer',
};

export interface PageOptions {
  title: Html;
  section: Section;
  body: HtmlValue;
  /** Extra scripts from /assets (CSP allows 'self' only: no inline script anywhere). */
  scripts?: string[];
}

/**
 * The switcher, on every page: one button per language, each named in its own language
 * (and marked so: a screen reader reads "Қазақша" as Kazakh). A POST, like every change.
 */
function languageSwitcher(ctx: PageContext): Html {
  const l = ctx.locale;
  return html`<form method="post" action="/language" class="languages" aria-label="${l.t('language.label')}">
    <input type="hidden" name="next" value="${ctx.path}">
    ${LANGUAGES.map((lang) => {
      const info = LANGUAGE_INFO[lang];
      const current = lang === l.language;
      return html`<button type="submit" name="lang" value="${lang}" lang="${info.htmlLang}" translate="no"
        aria-pressed="${current ? 'true' : 'false'}">${info.endonym}</button>`;
    })}
  </form>`;
}

/** A title's text for `<title>`, which shows markup as text: the escaped words without their tags. */
function titleText(title: Html): Html {
  return trusted(title.value.replace(/<[^>]*>/g, ''));
}

/** The frame of every page: header with the navigation, the officer and the languages, the confidentiality line. */
export function page(ctx: PageContext, options: PageOptions): Html {
  const s = ctx.session;
  const l = ctx.locale;
  const nav = s
    ? html`<nav aria-label="${l.t('nav.label')}"><ul>
        ${NAV.map(
          ([section, href, key]) =>
            html`<li><a href="${href}"${section === options.section ? html` aria-current="page"` : ''}>${l.t(key)}</a></li>`,
        )}
        ${ctx.metricsPath ? html`<li><a href="${ctx.metricsPath}" rel="noreferrer">${l.t('nav.metrics')}</a></li>` : ''}
      </ul></nav>
      <div class="officer">
        <span data-testid="officer" translate="no">${s.name}</span> <span class="roles">(${s.roles.map((r, i) => html`${i > 0 ? ', ' : ''}${l.t(ROLE_KEYS[r])}`)})</span>
        <form method="post" action="/logout"><button type="submit">${l.t('officer.logout')}</button></form>
      </div>`
    : '';
  return html`<!doctype html>
<html lang="${l.info.htmlLang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${titleText(options.title)} — ${ctx.site}</title>
<link rel="stylesheet" href="/assets/console.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
${(options.scripts ?? []).map((src) => html`<script src="/assets/${src}" defer></script>`)}
</head>
<body class="section-${options.section}">
<header>
  <div class="site"><strong>${l.t('site.name')}</strong> <span translate="no">${ctx.site}</span></div>
  ${nav}
  ${languageSwitcher(ctx)}
</header>
<main>
<h1>${options.title}</h1>
${options.body}
</main>
<footer><p>${l.t('footer.confidential')}</p><p>${l.t('footer.utc')}</p></footer>
</body>
</html>
`;
}
