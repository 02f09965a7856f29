/**
 * What the browser test checks on every page of the console, in every language and at
 * every size: the words an officer sees or hears come from that language's catalogue (and
 * none from another's), nothing overflows its box, every field is labelled, keyboard focus
 * is visible, and the state colours keep at least 4.5:1 against what they are drawn on
 * (WCAG 2.x AA, computed from the style sheet the page got).
 */
import { IntlMessageFormat } from 'intl-messageformat';
import type { Page } from 'playwright-core';
import type { Test } from 'tap';
import { CATALOGUES, type MessageKey } from '../../src/console/i18n/catalogues.js';
import { LANGUAGE_INFO, LANGUAGES, type Language } from '../../src/console/i18n/languages.js';
import { localeFor } from '../../src/console/i18n/locale.js';

/** Names and abbreviations every language writes in Latin letters. */
const LATIN_NAMES = ['CTOP', 'UTC', 'HTTP', 'DNS', 'TLS', 'Bluetooth', 'docs', 'CONSOLE', 'md'];

interface Element {
  type: number;
  value?: string;
  options?: Record<string, { value: Element[] }>;
  children?: Element[];
}

function literalText(elements: Element[]): string {
  return elements
    .map((e) =>
      e.type === 0
        ? (e.value ?? '')
        : [
            ...Object.values(e.options ?? {}).map((o) => literalText(o.value)),
            literalText(e.children ?? []),
          ].join(' '),
    )
    .join(' ');
}

/** What Intl writes in a language (units of durations and sizes): words of the page that are no catalogue's. */
function intlText(lang: Language): string {
  const l = localeFor(lang);
  const samples = [1, 2, 3, 5, 11, 21, 25].flatMap((n) => [
    l.duration(n * 1000),
    l.duration(n * 60_000 + 1000),
    l.duration(n * 3_600_000 + 60_000),
    l.duration(n * 86_400_000 + 3_600_000),
    l.bytes(n),
    l.bytes(n * 1000 + 100),
    l.bytes(n * 1_000_000 + 100_000),
    l.list(['KZ', 'RU', 'BY']),
    l.timeText(Date.UTC(2025, 0, n)),
  ]);
  return samples.join(' ');
}

export interface LanguageWords {
  /** Catalogue text of the language, with Intl's words: every Han run of a page must be in it. */
  text: string;
  /** Its words (letters only, lower case), with Intl's and the Latin names. */
  words: Set<string>;
  /** Words of the other catalogues this one never uses, each with its language. */
  foreign: Map<string, Language>;
}

const wordsOf = (text: string) => (text.match(/[\p{L}\p{M}]+/gu) ?? []).map((w) => w.toLowerCase());
const HAN = /\p{Script=Han}+/gu;

export function languageWords(lang: Language): LanguageWords {
  const catalogueText = (l: Language) =>
    Object.keys(CATALOGUES[l])
      .map((k) => {
        const ast = new IntlMessageFormat(CATALOGUES[l][k as MessageKey], LANGUAGE_INFO[l].locale).getAst();
        return literalText(ast as unknown as Element[]);
      })
      .join('\n');
  const text = `${catalogueText(lang)}\n${intlText(lang)}`;
  const words = new Set([...wordsOf(text), ...LATIN_NAMES.map((w) => w.toLowerCase())]);
  const foreign = new Map<string, Language>();
  for (const other of LANGUAGES) {
    if (other === lang) continue;
    for (const w of wordsOf(catalogueText(other))) {
      if (!words.has(w) && !/\p{Script=Han}/u.test(w) && w.length >= 3) foreign.set(w, other);
    }
  }
  return { text, words, foreign };
}

/**
 * Runs in the page (a string: tsx would name a function's helpers, which the page lacks).
 * Text of the page's own language only: data as written (`translate="no"`) and text marked
 * as another language (`lang`, e.g. the switcher's language names) are left out.
 */
const INSPECT = `(() => {
  const pageLang = document.documentElement.lang;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    ' "' + (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50) + '"';
  const excluded = (el) => !el || el.closest('[translate="no"]') ||
    el.closest('[lang]').getAttribute('lang') !== pageLang;
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || excluded(el) || el.closest('script, style') || !el.checkVisibility()) continue;
    texts.push(n.textContent.trim());
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
    if (excluded(el)) continue;
    for (const a of ['aria-label', 'title', 'placeholder']) if (el.hasAttribute(a)) texts.push(el.getAttribute(a));
  }

  const overflows = [];
  const root = document.documentElement;
  if (root.scrollWidth > innerWidth) overflows.push('the page scrolls sideways: ' + root.scrollWidth + ' > ' + innerWidth);
  for (const el of document.body.querySelectorAll('*')) {
    if (/^(INPUT|SELECT|TEXTAREA|PROGRESS|SCRIPT|STYLE|BR|OPTION)$/.test(el.tagName) || !el.checkVisibility()) continue;
    const cs = getComputedStyle(el);
    if (cs.display === 'inline' || cs.display === 'contents') continue;
    const scrolls = (v) => v === 'auto' || v === 'scroll';
    if (!scrolls(cs.overflowX) && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
      overflows.push(describe(el) + ': content ' + el.scrollWidth + ' px wide in a box of ' + el.clientWidth);
    if (!scrolls(cs.overflowY) && el.clientHeight > 0 && el.scrollHeight > el.clientHeight + 2)
      overflows.push(describe(el) + ': content ' + el.scrollHeight + ' px high in a box of ' + el.clientHeight);
    const right = el.getBoundingClientRect().right;
    if (right > innerWidth + 1 && !el.closest('.scroll')) overflows.push(describe(el) + ' ends at ' + Math.round(right) + ' px');
  }

  const unlabelled = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const name = [...el.labels].map((l) => l.textContent.trim()).join(' ') || el.getAttribute('aria-label') || '';
    if (!name.trim()) unlabelled.push(describe(el));
  }
  for (const el of document.querySelectorAll('button, a[href], summary')) {
    if (!(el.textContent.trim() || el.getAttribute('aria-label'))) unlabelled.push(describe(el));
  }

  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c)) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const colours = [];
  for (const el of document.querySelectorAll('.state, .count, .badge, #live-status, .problem, .why, .note')) {
    if (el.checkVisibility()) colours.push([describe(el), getComputedStyle(el).color, background(el)]);
  }
  return { lang: pageLang, text: texts.join('\\n'), overflows, unlabelled, colours };
})()`;

interface Inspection {
  lang: string;
  text: string;
  overflows: string[];
  unlabelled: string[];
  colours: [string, string, string][];
}

function rgb(css: string): [number, number, number, number] {
  const m = /rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/.exec(css);
  if (!m) throw new Error(`not a colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
}

/** WCAG 2.x contrast ratio of a text colour (alpha blended) on an opaque background. */
export function contrastRatio(text: string, background: string): number {
  const [br, bg, bb] = rgb(background);
  const [r, g, b, a] = rgb(text);
  const blend = (c: number, under: number) => c * a + under * (1 - a);
  const luminance = (r: number, g: number, b: number) => {
    const f = (c: number) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const l1 = luminance(blend(r, br), blend(g, bg), blend(b, bb));
  const l2 = luminance(br, bg, bb);
  return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}

/** The checks of one page; `expect` names messages the page must show in its language. */
export async function checkPage(
  t: Test,
  page: Page,
  lang: Language,
  words: LanguageWords,
  what: string,
  expect: MessageKey[] = [],
): Promise<void> {
  const r = (await page.evaluate(INSPECT)) as Inspection;
  const where = `${lang} ${what}`;
  t.equal(r.lang, LANGUAGE_INFO[lang].htmlLang, `${where}: lang="${r.lang}"`);
  t.same(r.overflows, [], `${where}: nothing overflows its box`);
  t.same(r.unlabelled, [], `${where}: every field and control has a name`);
  const weak = r.colours
    .map(([el, fg, bg]) => [el, contrastRatio(fg, bg)] as const)
    .filter(([, ratio]) => ratio < 4.5)
    .map(([el, ratio]) => `${el}: ${ratio.toFixed(2)}:1`);
  t.same(weak, [], `${where}: text colours at least 4.5:1 (${r.colours.length} checked)`);

  const strangers = new Set<string>();
  for (const word of wordsOf(r.text)) {
    if (/\p{Script=Han}/u.test(word)) continue;
    if (!words.words.has(word)) strangers.add(word);
  }
  for (const run of r.text.match(HAN) ?? []) {
    if (lang !== 'zh' || !words.text.includes(run)) strangers.add(run);
  }
  t.same([...strangers], [], `${where}: every word is from the ${lang} catalogue`);
  const leaked = wordsOf(r.text)
    .filter((w) => words.foreign.has(w))
    .map((w) => `${w} (${words.foreign.get(w)})`);
  t.same([...new Set(leaked)], [], `${where}: no word of another language's catalogue`);
  for (const key of expect) {
    const value = localeFor(lang).t(key).value.replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    t.ok(r.text.includes(value), `${where}: shows "${value}" (${key})`);
  }
}

/**
 * Tabs through the first controls of a page: each one focused must draw a visible ring
 * (an outline at least 2 px wide, not the same colour as what is behind it).
 */
export async function checkFocus(t: Test, page: Page, where: string, stops = 8): Promise<void> {
  // A page reached by a click (the goods are a form's answer) can be in the DOM before its
  // stylesheet applies: the focus rings would be the browser's own until it does.
  await page.waitForLoadState('load');
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
  const missing: string[] = [];
  let seen = 0;
  for (let i = 0; i < stops; i++) {
    await page.keyboard.press('Tab');
    const focus = (await page.evaluate(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      let bg = 'rgb(255, 255, 255)';
      for (let e = el.parentElement; e; e = e.parentElement) {
        const c = getComputedStyle(e).backgroundColor;
        if (c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c)) { bg = c; break; }
      }
      return { el: el.tagName.toLowerCase() + ' "' + (el.textContent || el.name || '').trim().slice(0, 30) + '"',
        style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), colour: cs.outlineColor, bg };
    })()`)) as { el: string; style: string; width: number; colour: string; bg: string } | null;
    if (!focus) continue;
    seen++;
    if (focus.style === 'none' || focus.width < 2 || contrastRatio(focus.colour, focus.bg) < 3) {
      missing.push(`${focus.el}: outline ${focus.style} ${focus.width}px ${focus.colour} on ${focus.bg}`);
    }
  }
  t.ok(seen > 0, `${where}: the keyboard reaches controls`);
  t.same(missing, [], `${where}: keyboard focus is visible on ${seen} controls`);
}
