import { type Html, html } from '../html.js';

/**
 * Han characters with the CJK punctuation and full-width forms around them. One Unicode
 * block serves Chinese and Japanese, and a browser draws it with the font of the element's
 * language: on a Russian or Kazakh page a Chinese name would get Japanese glyph shapes.
 */
const HAN_RUN =
  /[\p{Script=Han}\u3000-\u303f\uff00-\uffef](?:[\p{Script=Han}\u3000-\u303f\uff00-\uffef\d\s·-]*[\p{Script=Han}\u3000-\u303f\uff00-\uffef])?/gu;

/**
 * A text of the manifest (a goods name, a party, a place) exactly as the accompanying
 * document writes it — the corridor's documents mix Kazakh, Russian, Chinese and English —
 * escaped, with its runs of Chinese marked `lang="zh-Hans"` so they are drawn as Chinese on
 * a page of any language. Never translated.
 */
export function asWritten(text: string): Html {
  const parts: Html[] = [];
  let at = 0;
  for (const match of text.matchAll(HAN_RUN)) {
    if (match.index > at) parts.push(html`${text.slice(at, match.index)}`);
    parts.push(html`<span lang="zh-Hans">${match[0]}</span>`);
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(html`${text.slice(at)}`);
  return html`${parts}`;
}
