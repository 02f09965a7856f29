import type { Catalogue } from './catalogue.js';
import { en } from './en.js';
import { kk } from './kk.js';
import type { Language } from './languages.js';
import { ru } from './ru.js';
import { zh } from './zh.js';

/**
 * Every word the console shows, one catalogue per language (ICU MessageFormat: `{name}`
 * placeholders, `{n, plural, …}`, `<link>…</link>` tags). English defines the keys; a
 * catalogue that misses or adds one does not compile, and test/console/i18n.test.ts checks
 * the placeholders agree, every key is used and no English is left in another language.
 */
export type { Catalogue, MessageKey } from './catalogue.js';

export const CATALOGUES: Readonly<Record<Language, Catalogue>> = { en, ru, kk, zh };
