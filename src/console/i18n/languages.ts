import Negotiator from 'negotiator';

/**
 * The console's languages: the officers of both sides of the border read Russian and
 * Kazakh (Dostyk, Altynkol) or Chinese (Alashankou, Khorgos); English is the common
 * fallback. One catalogue per language under this folder.
 */
export const LANGUAGES = ['en', 'ru', 'kk', 'zh'] as const;
export type Language = (typeof LANGUAGES)[number];

export interface LanguageInfo {
  /** The page's `lang` attribute (BCP 47); Simplified Chinese says its script so fonts pick SC glyphs. */
  htmlLang: string;
  /** The locale numbers and dates are formatted for (Intl). */
  locale: string;
  /** The language's name in itself, as the switcher shows it. */
  endonym: string;
}

export const LANGUAGE_INFO: Readonly<Record<Language, LanguageInfo>> = {
  en: { htmlLang: 'en', locale: 'en-GB', endonym: 'English' },
  ru: { htmlLang: 'ru', locale: 'ru-RU', endonym: 'Русский' },
  kk: { htmlLang: 'kk', locale: 'kk-KZ', endonym: 'Қазақша' },
  zh: { htmlLang: 'zh-Hans', locale: 'zh-CN', endonym: '简体中文' },
};

export const DEFAULT_LANGUAGE: Language = 'en';

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The officer's browser's preference (`Accept-Language`, RFC 9110 §12.5.4, with q-values):
 * `zh-CN`, `zh-Hans` or `zh` all mean the Chinese catalogue, `ru-KZ` the Russian one.
 * Undefined when the header names none of ours.
 */
export function fromAcceptLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  // negotiator matches a tag to its prefix (zh-CN → zh) and honours q=0; a header of a few
  // hundred bytes is plenty, and bounds the work for a hostile one.
  const found = new Negotiator({ headers: { 'accept-language': header.slice(0, 512) } }).language([
    ...LANGUAGES,
  ]);
  return isLanguage(found) ? found : undefined;
}
