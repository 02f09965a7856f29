/**
 * The console's catalogues (src/console/i18n): the same keys and placeholders in every
 * language, every key used by the console, every plural form a language needs, no English
 * left in the Russian, Kazakh and Chinese ones; and the Intl formatting and language
 * negotiation the pages rely on.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { IntlMessageFormat } from 'intl-messageformat';
import t from 'tap';
import { html } from '../../src/console/html.js';
import { CATALOGUES, type MessageKey } from '../../src/console/i18n/catalogues.js';
import { fromAcceptLanguage, LANGUAGE_INFO, LANGUAGES } from '../../src/console/i18n/languages.js';
import { localeFor } from '../../src/console/i18n/locale.js';
import { asWritten } from '../../src/console/pages/as-written.js';
import {
  alertWord,
  causeWord,
  describeLockProblem,
  errorCode,
  outboxKindWord,
  outboxStateWord,
  receiptReason,
  verificationWord,
} from '../../src/console/pages/words.js';
import { ERRORS } from '../../src/errors.js';
import { REJECTION_REASONS } from '../../src/reference-exchange/index.js';
import {
  OUTBOX_KINDS,
  OUTBOX_STATES,
  STORE_ALERT_KINDS,
  VERIFICATION_STATUSES,
} from '../../src/store/index.js';
import { OUTAGE_CAUSES } from '../../src/sync/outage-cause.js';

const CONSOLE_SRC = fileURLToPath(new URL('../../src/console/', import.meta.url));
const KEYS = Object.keys(CATALOGUES.en) as MessageKey[];

/** Latin words a Russian, Kazakh or Chinese officer reads as they are: names and abbreviations. */
const LATIN_ALLOWED = new Set(['CTOP', 'UTC', 'HTTP', 'DNS', 'TLS', 'Bluetooth', 'docs', 'CONSOLE', 'md']);

interface Element {
  type: number;
  value?: string;
  options?: Record<string, { value: Element[] }>;
  children?: Element[];
}
const LITERAL = 0;
const PLURAL = 6;
const TAG = 8;

function ast(message: string, locale: string): Element[] {
  return new IntlMessageFormat(message, locale).getAst() as unknown as Element[];
}

/** Placeholder and tag names of a message, sorted: they must be the same in every language. */
function names(elements: Element[], into = new Set<string>()): Set<string> {
  for (const e of elements) {
    if (e.type !== LITERAL && e.value !== undefined) into.add(e.type === TAG ? `<${e.value}>` : e.value);
    for (const option of Object.values(e.options ?? {})) names(option.value, into);
    if (e.children) names(e.children, into);
  }
  return into;
}

/** The words of a message as a reader sees them: its literal text, without placeholders or tags. */
function literalText(elements: Element[]): string {
  return elements
    .map((e) =>
      e.type === LITERAL
        ? e.value
        : [
            ...Object.values(e.options ?? {}).map((o) => literalText(o.value)),
            literalText(e.children ?? []),
          ].join(' '),
    )
    .join(' ');
}

function plurals(elements: Element[], into: Element[] = []): Element[] {
  for (const e of elements) {
    if (e.type === PLURAL) into.push(e);
    for (const option of Object.values(e.options ?? {})) plurals(option.value, into);
    if (e.children) plurals(e.children, into);
  }
  return into;
}

t.test('every language has the keys of the English catalogue, and no other', async (t) => {
  for (const lang of LANGUAGES) {
    const keys = Object.keys(CATALOGUES[lang]);
    t.same(
      KEYS.filter((k) => !keys.includes(k)),
      [],
      `${lang}: no key missing`,
    );
    t.same(
      keys.filter((k) => !(k in CATALOGUES.en)),
      [],
      `${lang}: no key English lacks`,
    );
    t.same(
      keys.filter((k) => CATALOGUES[lang][k as MessageKey].trim() === ''),
      [],
      `${lang}: no empty message`,
    );
  }
});

t.test('every message parses, and has the placeholders and tags of the English one', async (t) => {
  for (const key of KEYS) {
    const expected = [...names(ast(CATALOGUES.en[key], 'en'))].sort();
    for (const lang of LANGUAGES) {
      const got = [...names(ast(CATALOGUES[lang][key], LANGUAGE_INFO[lang].locale))].sort();
      if (got.join() !== expected.join())
        t.fail(`${lang} ${key}: ${got.join(', ')} ≠ ${expected.join(', ')}`);
    }
  }
  t.pass('placeholders agree');
});

t.test('plural messages give every form the language has', async (t) => {
  for (const lang of LANGUAGES) {
    const locale = LANGUAGE_INFO[lang].locale;
    const needed = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
    for (const key of KEYS) {
      for (const plural of plurals(ast(CATALOGUES[lang][key], locale))) {
        const given = Object.keys(plural.options ?? {});
        const missing = needed.filter((c) => !given.includes(c));
        if (missing.length > 0) t.fail(`${lang} ${key}: no ${missing.join(', ')} form`);
      }
    }
  }
  const ru = localeFor('ru');
  t.equal(ru.t('lock.retries', { count: 1 }).value, '1 повтор');
  t.equal(ru.t('lock.retries', { count: 3 }).value, '3 повтора');
  t.equal(ru.t('lock.retries', { count: 11 }).value, '11 повторов');
  t.equal(ru.t('lock.retries', { count: 21 }).value, '21 повтор');
  t.equal(localeFor('kk').t('lock.retries', { count: 3 }).value, '3 рет қайталанды');
  t.equal(localeFor('zh').t('lock.retries', { count: 3 }).value, '重试 3 次');
  t.equal(localeFor('en').t('lock.retries', { count: 1 }).value, '1 retry');
});

t.test('every key is used by the console', async (t) => {
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) {
        if (name !== 'i18n') walk(file);
      } else if (/\.(ts|js)$/.test(name)) sources.push(readFileSync(file, 'utf8'));
    }
  };
  walk(CONSOLE_SRC);
  const all = sources.join('\n');
  t.same(
    KEYS.filter((k) => !all.includes(`'${k}'`)),
    [],
    'a key no page uses is dead weight for every translator',
  );
});

t.test('no English left in the Russian, Kazakh and Chinese catalogues', async (t) => {
  for (const lang of ['ru', 'kk', 'zh'] as const) {
    const locale = LANGUAGE_INFO[lang].locale;
    for (const key of KEYS) {
      const text = literalText(ast(CATALOGUES[lang][key], locale));
      const latin = (text.match(/[A-Za-z]+/g) ?? []).filter((w) => !LATIN_ALLOWED.has(w));
      if (latin.length > 0) t.fail(`${lang} ${key}: Latin words ${latin.join(' ')} in "${text}"`);
      const english = CATALOGUES.en[key];
      const englishWords = (literalText(ast(english, 'en')).match(/\p{L}{3,}/gu) ?? []).filter(
        (w) => !LATIN_ALLOWED.has(w),
      );
      if (englishWords.length > 0 && CATALOGUES[lang][key] === english) {
        t.fail(`${lang} ${key}: the English message itself`);
      }
    }
  }
  const kazakhLetters = /[әғқңөұүһі]/iu;
  const kk = KEYS.map((k) => CATALOGUES.kk[k]);
  t.ok(
    kk.filter((m) => kazakhLetters.test(m)).length > kk.length * 0.7,
    'Kazakh is written with its own letters (ә ғ қ ң ө ұ ү һ і), not as Russian',
  );
  // One word may be the same in both (вагон, контейнер, манифест); a phrase is not.
  t.same(
    KEYS.filter(
      (k) =>
        CATALOGUES.kk[k] === CATALOGUES.ru[k] &&
        (literalText(ast(CATALOGUES.kk[k], 'kk')).match(/\p{L}+/gu) ?? []).length > 1,
    ),
    [],
    'no Kazakh phrase is the Russian one',
  );
  const han = /\p{Script=Han}/u;
  t.same(
    KEYS.filter(
      (k) => /\p{L}{2}/u.test(literalText(ast(CATALOGUES.zh[k], 'zh'))) && !han.test(CATALOGUES.zh[k]),
    ),
    [],
    'every Chinese message with words has Chinese characters',
  );
});

t.test('messages escape what they are given and keep markup they are handed', async (t) => {
  const en = localeFor('en');
  t.equal(
    en.t('manifest.title', { container: '<img src=x onerror=alert(1)>' }).value,
    'Manifest &lt;img src=x onerror=alert(1)&gt;',
  );
  t.equal(
    en.t('trains.none', { link: (chunks) => html`<a href="/manifests">${chunks}</a>` }).value,
    'No train read since the agent started. Stored manifests are under <a href="/manifests">Manifests</a>.',
  );
  t.equal(localeFor('zh').t('train.heading', { train: html`<b>2714</b>` }).value, '列车 <b>2714</b>');
  t.equal(
    en.t('login.accounts').value,
    'Officer accounts are set in the agent&#39;s configuration; see docs/CONSOLE.md.',
  );
});

t.test('times are UTC and say so, in every language', async (t) => {
  const at = Date.UTC(2025, 8, 18, 4, 45, 7);
  for (const lang of LANGUAGES) {
    const text = localeFor(lang).timeText(at);
    t.match(text, /UTC/, `${lang}: ${text}`);
    t.match(text, /04:45:07/, `${lang}: the UTC hour, whatever the machine's zone`);
    t.match(localeFor(lang).time(at).value, /^<time datetime="2025-09-18T04:45:07.000Z">/);
  }
  t.equal(localeFor('ru').timeText(at), '18.09.2025, 04:45:07 UTC');
  t.equal(localeFor('zh').timeText(at), '2025/09/18 UTC 04:45:07');
  t.equal(localeFor('en').time(undefined).value, '—');
});

t.test('numbers as each language writes them; decimals keep exactly their digits', async (t) => {
  t.equal(localeFor('ru').decimal('6612500.00'), '6\u00a0612\u00a0500,00');
  t.equal(localeFor('kk').decimal('26.45'), '26,45');
  t.equal(localeFor('en').decimal('6612500.00'), '6,612,500.00');
  t.equal(localeFor('zh').decimal('1248.000'), '1,248.000');
  t.equal(localeFor('en').decimal('not a number'), 'not a number', 'anything else as written');
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 6 }), (n, digits) => {
      const s =
        digits === 0
          ? n.toString()
          : `${n / 10n ** BigInt(digits)}.${(n % 10n ** BigInt(digits)).toString().padStart(digits, '0')}`;
      const back = localeFor('ru')
        .decimal(s)
        .replace(/\u00a0/g, '')
        .replace(',', '.');
      return back === s;
    }),
    { numRuns: 200 },
  );
  t.equal(localeFor('en').duration(3_725_000), '1 hr 2 mins');
  t.equal(localeFor('ru').duration(41_000), '41 с');
  t.equal(localeFor('zh').duration(2 * 86_400_000 + 3_600_000), '2天1小时');
  t.equal(localeFor('kk').bytes(68_400), '68,4 кБ');
});

t.test('Accept-Language picks the catalogue', async (t) => {
  t.equal(fromAcceptLanguage('zh-CN,zh;q=0.9,en;q=0.8'), 'zh');
  t.equal(fromAcceptLanguage('zh-Hans'), 'zh');
  t.equal(fromAcceptLanguage('zh-TW'), 'zh', 'a Traditional reader still reads Chinese better than English');
  t.equal(fromAcceptLanguage('kk-KZ,ru;q=0.8'), 'kk');
  t.equal(fromAcceptLanguage('ru-KZ'), 'ru');
  t.equal(fromAcceptLanguage('de-DE,ru;q=0.5,en;q=0.3'), 'ru', 'the first one we have, by weight');
  t.equal(fromAcceptLanguage('en;q=0.2, kk;q=0.9'), 'kk');
  t.equal(fromAcceptLanguage('ru;q=0, en'), 'en', 'q=0 means never');
  t.equal(fromAcceptLanguage('de, fr'), undefined);
  t.equal(fromAcceptLanguage(undefined), undefined);
  t.equal(
    fromAcceptLanguage(`${'x-'.repeat(10_000)},ru`),
    undefined,
    'a hostile header is cut, not parsed whole',
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (header) => {
      const found = fromAcceptLanguage(header);
      return found === undefined || LANGUAGES.includes(found);
    }),
  );
});

t.test('goods as written: Chinese runs are marked as Chinese, nothing is changed', async (t) => {
  t.equal(
    asWritten('新疆天山粮油进出口有限公司 (Xinjiang Tianshan Grain & Oil)').value,
    '<span lang="zh-Hans">新疆天山粮油进出口有限公司</span> (Xinjiang Tianshan Grain &amp; Oil)',
  );
  t.equal(
    asWritten('乌鲁木齐北站粮食专用线 Ürümqi North').value,
    '<span lang="zh-Hans">乌鲁木齐北站粮食专用线</span> Ürümqi North',
  );
  t.equal(
    asWritten('Жұмсақ бидай, 3-сынып (Пшеница мягкая 3 класса)').value,
    'Жұмсақ бидай, 3-сынып (Пшеница мягкая 3 класса)',
  );
  t.equal(asWritten('<script>').value, '&lt;script&gt;');
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
      const text = asWritten(s)
        .value.replace(/<span lang="zh-Hans">|<\/span>/g, '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
      return text === s;
    }),
  );
});

t.test("a lock's trouble in the officer's words, the technical text beside it", async (t) => {
  const ru = localeFor('ru');
  t.match(
    describeLockProblem(ru, 'E_TRANSPORT_CLOSED: the link closed').value,
    /^связь с замком потеряна \(<code translate="no">E_TRANSPORT_CLOSED<\/code>\)$/,
  );
  t.equal(describeLockProblem(ru, 'clone: the lock did not prove its pinned identity').value, 'КЛОН ЗАМКА');
  t.equal(
    describeLockProblem(ru, 'lock unknown lock; manifest unknown signer').value,
    'замок: НЕИЗВЕСТНЫЙ ЗАМОК; манифест: НЕИЗВЕСТНЫЙ ПОДПИСАНТ',
  );
  t.equal(
    describeLockProblem(localeFor('zh'), 'not read before the train had passed').value,
    '列车通过前未能读取',
  );
  t.equal(
    describeLockProblem(localeFor('kk'), 'something new and odd').value,
    'техникалық мәліметтерді қараңыз',
  );
  t.equal(
    describeLockProblem(
      ru,
      'manifest expired; expired: manifest 3b1f… expired: key kz-1 valid to 2024-12-31; kept as evidence',
    ).value,
    'манифест: СРОК КЛЮЧА ПОДПИСИ ИСТЁК',
    'the alert that repeats the verdict is said once; its detail (with its own "; ") is not a reason',
  );
  t.equal(
    describeLockProblem(ru, 'E_LOCK_HASH: mismatch; after a re-read; lock unknown lock').value,
    'проверка целостности не пройдена (<code translate="no">E_LOCK_HASH</code>); замок: НЕИЗВЕСТНЫЙ ЗАМОК',
  );
});

t.test('every token the store and the exchange write has its words in every language', async (t) => {
  const codeOnly = /^<code translate="no">[^<]*<\/code>$/;
  for (const lang of LANGUAGES) {
    const l = localeFor(lang);
    const untranslated = [
      ...VERIFICATION_STATUSES.filter((v) => codeOnly.test(verificationWord(l, v).value)),
      ...STORE_ALERT_KINDS.filter((k) => codeOnly.test(alertWord(l, k).value)),
      ...OUTBOX_KINDS.filter((k) => codeOnly.test(outboxKindWord(l, k).value)),
      ...OUTBOX_STATES.filter((s) => codeOnly.test(outboxStateWord(l, s).value)),
      ...OUTAGE_CAUSES.filter((c) => codeOnly.test(causeWord(l, c).value)),
      ...REJECTION_REASONS.filter((r) => codeOnly.test(receiptReason(l, r).value)),
    ];
    t.same(untranslated, [], `${lang}: a word for every state, kind, cause and reason`);
    // Every error code falls in a category that has words (src/errors.ts).
    for (const code of Object.keys(ERRORS)) {
      if (
        !errorCode(l, code).value.includes(`<code translate="no">${code}</code>`) ||
        codeOnly.test(errorCode(l, code).value)
      )
        t.fail(`${lang}: ${code}`);
    }
  }
  t.equal(
    alertWord(localeFor('ru'), 'future_kind').value,
    '<code translate="no">future_kind</code>',
    'a newer token: as the code',
  );
});
