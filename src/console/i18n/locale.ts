import { IntlMessageFormat, PART_TYPE } from 'intl-messageformat';
import { escapeHtml, Html, html } from '../html.js';
import { CATALOGUES, type MessageKey } from './catalogues.js';
import { LANGUAGE_INFO, type Language, type LanguageInfo } from './languages.js';

/** A placeholder's value: text and numbers are escaped; `Html` (a link, a `<time>`) is kept. */
export type MessageValue = string | number | Html;
/** A tag of the message (`<link>Manifests</link>`): gets its content, returns the markup around it. */
export type MessageTag = (chunks: (string | Html)[]) => Html;
export type MessageValues = Readonly<Record<string, MessageValue | MessageTag>>;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type TimeUnit = 'day' | 'hour' | 'minute' | 'second';

/**
 * One language of the console: its messages (ICU MessageFormat, from the catalogues),
 * and numbers, dates and durations as that language writes them (Intl). Times are shown
 * in UTC and say so, so officers on both sides of the border read the same time.
 */
export class Locale {
  readonly language: Language;
  readonly info: LanguageInfo;
  readonly #messages = new Map<MessageKey, IntlMessageFormat>();
  readonly #time: Intl.DateTimeFormat;
  readonly #day: Intl.DateTimeFormat;
  readonly #integer: Intl.NumberFormat;
  readonly #units: Record<TimeUnit, Intl.NumberFormat>;
  readonly #list: Intl.ListFormat;

  constructor(language: Language) {
    this.language = language;
    this.info = LANGUAGE_INFO[language];
    const locale = this.info.locale;
    this.#time = new Intl.DateTimeFormat(locale, {
      timeZone: 'UTC',
      timeZoneName: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    this.#day = new Intl.DateTimeFormat(locale, {
      timeZone: 'UTC',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    this.#integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    const unit = (u: string) =>
      new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'short' });
    this.#units = { day: unit('day'), hour: unit('hour'), minute: unit('minute'), second: unit('second') };
    this.#list = new Intl.ListFormat(locale, { type: 'unit', style: 'narrow' });
  }

  /** The message `key` with its placeholders filled, as escaped markup. */
  t(key: MessageKey, values: MessageValues = {}): Html {
    let format = this.#messages.get(key);
    if (!format) {
      format = new IntlMessageFormat(CATALOGUES[this.language][key], this.info.locale);
      this.#messages.set(key, format);
    }
    const parts = format.formatToParts<Html>(values as Record<string, string | number | Html>);
    let out = '';
    for (const part of parts) {
      if (part.type === PART_TYPE.literal) out += escapeHtml(part.value);
      else out += html`${part.value as Html | string}`.value;
    }
    return new Html(out);
  }

  /** A moment as `<time>`: the machine-readable instant, and the date and time in UTC as this language writes them. */
  time(ms: number | undefined): Html {
    if (ms === undefined) return html`—`;
    return html`<time datetime="${new Date(ms).toISOString()}">${this.timeText(ms)}</time>`;
  }

  timeText(ms: number): string {
    return this.#time.format(ms);
  }

  /** A UTC calendar day given as `YYYY-MM-DD`. */
  day(isoDay: string): Html {
    const ms = Date.parse(`${isoDay}T00:00:00Z`);
    if (Number.isNaN(ms)) return html`${isoDay}`;
    return html`<time datetime="${isoDay}">${this.#day.format(ms)}</time>`;
  }

  integer(n: number): string {
    return this.#integer.format(n);
  }

  /**
   * A decimal as the manifest writes it ("26.45", "6612500.00"), in this language's
   * notation with exactly its digits: no rounding, no float on the way.
   */
  decimal(value: string): string {
    if (!/^-?\d{1,30}(\.\d{1,20})?$/.test(value)) return value;
    const digits = value.split('.')[1]?.length ?? 0;
    const format = new Intl.NumberFormat(this.info.locale, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    // A numeric string keeps its precision (Intl.NumberFormat v3, ES2023).
    return format.format(value as unknown as number);
  }

  /** The largest two units that matter: "2 d 3 h", "5 min 41 s". */
  duration(ms: number): string {
    let rest = Math.max(0, Math.floor(ms / SECOND) * SECOND);
    const parts: [TimeUnit, number][] = [];
    for (const [unit, size] of [
      ['day', DAY],
      ['hour', HOUR],
      ['minute', MINUTE],
      ['second', SECOND],
    ] as const) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      if (n > 0 || (unit === 'second' && parts.length === 0)) parts.push([unit, n]);
    }
    return this.#list.format(parts.slice(0, 2).map(([unit, n]) => this.#units[unit].format(n)));
  }

  /** A size in bytes, in this language's units (kB = 1000 B, as Intl names them). */
  bytes(n: number): string {
    const [unit, value] =
      n < 1000 ? ['byte', n] : n < 1_000_000 ? ['kilobyte', n / 1000] : ['megabyte', n / 1_000_000];
    return new Intl.NumberFormat(this.info.locale, {
      style: 'unit',
      unit,
      unitDisplay: 'short',
      maximumFractionDigits: unit === 'byte' ? 0 : 1,
    }).format(value);
  }

  /** Words joined as a list of this language ("a, b and c" / "a, b и c" / "a、b和c"). */
  list(items: string[]): string {
    return new Intl.ListFormat(this.info.locale, { type: 'conjunction' }).format(items);
  }
}

const LOCALES = new Map<Language, Locale>();

/** The shared Locale of a language (formats are built once per process). */
export function localeFor(language: Language): Locale {
  let locale = LOCALES.get(language);
  if (!locale) {
    locale = new Locale(language);
    LOCALES.set(language, locale);
  }
  return locale;
}
