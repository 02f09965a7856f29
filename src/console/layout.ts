import { type Html, type HtmlValue, html } from './html.js';
import type { Session } from './sessions.js';

export interface PageContext {
  /** Shown in the header, e.g. "Dostyk — gw-dostyk-1". */
  site: string;
  /** Link to the daemon's Prometheus metrics; no link when absent. */
  metricsPath?: string;
  session?: Session;
}

export type Section = 'trains' | 'manifests' | 'outbox' | 'outages' | 'alerts' | 'audit' | 'login';

const NAV: [Section, string, string][] = [
  ['trains', '/', 'Trains'],
  ['manifests', '/manifests', 'Manifests'],
  ['outbox', '/outbox', 'Outbox'],
  ['outages', '/outages', 'Outages'],
  ['alerts', '/alerts', 'Alerts'],
  ['audit', '/audit', 'Audit'],
];

export interface PageOptions {
  title: string;
  section: Section;
  body: HtmlValue;
  /** Extra scripts from /assets (CSP allows 'self' only: no inline script anywhere). */
  scripts?: string[];
}

/** The frame of every page: header with the navigation and the officer, the confidentiality line. */
export function page(ctx: PageContext, options: PageOptions): Html {
  const s = ctx.session;
  const nav = s
    ? html`<nav aria-label="Sections"><ul>
        ${NAV.map(
          ([section, href, label]) =>
            html`<li><a href="${href}"${section === options.section ? html` aria-current="page"` : ''}>${label}</a></li>`,
        )}
        ${ctx.metricsPath ? html`<li><a href="${ctx.metricsPath}" rel="noreferrer">Metrics</a></li>` : ''}
      </ul></nav>
      <div class="officer">
        <span data-testid="officer">${s.name}</span> <span class="roles">(${s.roles.join(', ')})</span>
        <form method="post" action="/logout"><button type="submit">Log out</button></form>
      </div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} — ${ctx.site}</title>
<link rel="stylesheet" href="/assets/console.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
${(options.scripts ?? []).map((src) => html`<script src="/assets/${src}" defer></script>`)}
</head>
<body class="section-${options.section}">
<header>
  <div class="site"><strong>CTOP checkpoint console</strong> <span>${ctx.site}</span></div>
  ${nav}
</header>
<main>
<h1>${options.title}</h1>
${options.body}
</main>
<footer>Confidential customs information, for customs control only (CTOP Protocol Art. 6). Every view is recorded in the audit trail.</footer>
</body>
</html>
`;
}
