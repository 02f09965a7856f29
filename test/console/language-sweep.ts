/**
 * One language of the console in the browser, every page at desktop and at phone size:
 * the login (and a refused one), trains, manifests, the goods for the customs role, outbox,
 * outages, alerts, audit and a missing page, each checked by page-checks.ts.
 */
import type { Page } from 'playwright-core';
import type { Test } from 'tap';
import { CATALOGUES, type MessageKey } from '../../src/console/i18n/catalogues.js';
import type { Language } from '../../src/console/i18n/languages.js';
import { PASSWORDS } from './console-world.js';
import { checkFocus, checkPage, contrastRatio, type LanguageWords } from './page-checks.js';

/** The DOM shapes the in-page callbacks touch (the project compiles without lib.dom). */
interface DomElement {
  className: string;
}
declare const document: { getElementById(id: string): DomElement | null };
declare function getComputedStyle(element: DomElement): { color: string };

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** The trains page's live stream is connected. */
export const isLive = () => document.getElementById('live-status')?.className === 'live';

/** One page at both sizes: desktop first (with the keyboard), then phone. */
async function bothSizes(
  t: Test,
  page: Page,
  lang: Language,
  words: LanguageWords,
  what: string,
  expect: MessageKey[],
  focusStops = 0,
): Promise<void> {
  // Colours and focus rings are the stylesheet's: checked once it has loaded, not as the DOM appears.
  await page.waitForLoadState('load');
  await page.setViewportSize(DESKTOP);
  await checkPage(t, page, lang, words, `${what} (desktop)`, expect);
  if (focusStops > 0) await checkFocus(t, page, `${lang} ${what}`, focusStops);
  await page.setViewportSize(PHONE);
  await checkPage(t, page, lang, words, `${what} (phone)`, []);
}

/** Every page of the console in one language, as a customs officer sees it. */
export async function sweep(
  t: Test,
  page: Page,
  url: string,
  lang: Language,
  words: LanguageWords,
  wheat: string,
) {
  const c = CATALOGUES[lang];
  await page.goto(`${url}/login`);
  await bothSizes(
    t,
    page,
    lang,
    words,
    'login',
    ['login.title', 'login.user', 'login.password', 'footer.utc'],
    6,
  );
  await page.fill('input[name=user]', 'aigerim');
  await page.fill('input[name=password]', 'not her password');
  await page.click('form.login button[type=submit]');
  await bothSizes(t, page, lang, words, 'login refused', ['login.wrong']);
  await page.fill('input[name=password]', PASSWORDS.aigerim);
  await page.click('form.login button[type=submit]');
  await page.waitForURL(`${url}/`);

  await page.waitForFunction(isLive);
  await bothSizes(
    t,
    page,
    lang,
    words,
    'trains',
    ['trains.title', 'nav.manifests', 'live.live', 'state.tamper'],
    14,
  );
  const liveColour = await page.$eval(
    '#live-status',
    (el) => getComputedStyle(el as unknown as DomElement).color,
  );
  t.ok(contrastRatio(liveColour, 'rgb(255, 255, 255)') >= 4.5, `${lang}: the live status is readable`);

  await page.goto(`${url}/manifests`);
  await bothSizes(t, page, lang, words, 'manifests', ['manifests.title', 'col.container', 'filter.find']);

  await page.goto(`${url}/manifests/${wheat}`);
  await page.click(`text=${c['goods.show']}`);
  await page.locator('[data-testid=goods]').waitFor();
  await bothSizes(
    t,
    page,
    lang,
    words,
    'goods',
    ['goods.title', 'col.goods', 'goods.asWritten', 'reads.title'],
    8,
  );
  // The goods as the document writes them, the same in every language: Kazakh (with the
  // Russian name in brackets) and Chinese, the Chinese marked as such for its font.
  t.equal(
    (await page.textContent('[data-testid=goods] td.goods-name'))?.trim(),
    'Жұмсақ бидай, 3-сынып, 2025 жылғы егін (Пшеница мягкая 3 класса)',
    `${lang}: the goods name as written`,
  );
  t.equal(
    await page.textContent('[data-testid=goods] .party span[lang="zh-Hans"]'),
    '新疆天山粮油进出口有限公司',
    `${lang}: the consignee in Chinese, marked zh-Hans`,
  );

  const pages: [string, string, MessageKey[]][] = [
    ['/outbox', 'outbox', ['outbox.title', 'fig.backlog', 'reason.manifest_unknown_signer']],
    ['/outages', 'outages', ['outages.title', 'cause.connection_lost', 'outages.daily']],
    ['/alerts', 'alerts', ['alerts.pageTitle', 'alert.bad_signature', 'alert.tamper']],
    ['/audit', 'audit', ['audit.title', 'audit.action.decrypt', 'audit.action.view']],
    ['/no-such-page', 'not found', ['problem.noPage']],
  ];
  for (const [path, what, expect] of pages) {
    await page.goto(`${url}${path}`);
    await bothSizes(t, page, lang, words, what, expect);
  }
  await page.setViewportSize(DESKTOP);
}
