/**
 * The console's language over real HTTP: Accept-Language, the switcher (a POST, refused
 * from another site), the choice kept in the browser and for the account, `lang` per page.
 */
import t from 'tap';
import { CATALOGUES } from '../../src/console/i18n/catalogues.js';
import { Client, PASSWORDS, startConsole } from './console-world.js';

const langOf = (page: string) => /<html lang="([^"]+)">/.exec(page)?.[1];

function choose(c: Client, lang: string, next: string, origin = c.base): Promise<Response> {
  return c.request('/language', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams({ lang, next }).toString(),
  });
}

t.test('the login page speaks the browser language, or English', async (t) => {
  const w = await startConsole(t);
  for (const [header, lang, word] of [
    ['ru-RU,ru;q=0.9,en;q=0.5', 'ru', CATALOGUES.ru['login.password']],
    ['kk', 'kk', CATALOGUES.kk['login.password']],
    ['zh-CN,zh;q=0.9', 'zh-Hans', CATALOGUES.zh['login.password']],
    ['de-DE', 'en', CATALOGUES.en['login.password']],
    ['', 'en', CATALOGUES.en['login.password']],
  ] as const) {
    const page = await (await fetch(`${w.url}/login`, { headers: { 'accept-language': header } })).text();
    t.equal(langOf(page), lang, `Accept-Language "${header}"`);
    t.ok(page.includes(`>${word} <input`), `the password label in ${lang}`);
    t.ok(page.includes('action="/language"'), 'and the switcher');
  }
});

t.test('the switcher: a same-site POST, kept in a cookie and for the account', async (t) => {
  const w = await startConsole(t);
  const browser = new Client(w.url);
  const res = await choose(browser, 'kk', '/login?next=%2Foutbox');
  t.equal(res.status, 303);
  t.equal(res.headers.get('location'), '/login?next=%2Foutbox', 'back to the page it was on');
  t.match(
    res.headers.get('set-cookie'),
    /^ctop_lang=kk; Max-Age=34560000; Path=\/; HttpOnly; SameSite=Strict$/,
  );
  t.equal(langOf(await (await browser.request('/login')).text()), 'kk', 'the login page in Kazakh');

  // Logging in adopts the browser's choice for the account...
  t.equal((await browser.login('aigerim', PASSWORDS.aigerim)).status, 303);
  const outbox = await (await browser.request('/outbox')).text();
  t.equal(langOf(outbox), 'kk');
  t.ok(outbox.includes(CATALOGUES.kk['outbox.title']));
  // ...so another browser of hers, set to Chinese, gets Kazakh once she logs in.
  const other = new Client(w.url);
  await other.login('aigerim', PASSWORDS.aigerim);
  const page = await (await other.request('/outbox', { headers: { 'accept-language': 'zh-CN' } })).text();
  t.equal(langOf(page), 'kk', 'remembered for the account, over Accept-Language');

  // Her choice there changes the account's language everywhere.
  await choose(other, 'ru', '/outbox');
  t.equal(langOf(await (await browser.request('/')).text()), 'ru', 'her first browser follows');
  t.same(await (await browser.request('/api/session')).json(), {
    user: 'aigerim',
    name: 'A. Nurlanovna',
    roles: ['customs'],
    language: 'ru',
  });

  // Another officer keeps his own.
  const bolat = new Client(w.url);
  await bolat.login('bolat', PASSWORDS.bolat);
  t.equal(
    langOf(await (await bolat.request('/', { headers: { 'accept-language': 'zh' } })).text()),
    'zh-Hans',
    'not aigerim’s choice',
  );
});

t.test('the switcher refuses what it must', async (t) => {
  const w = await startConsole(t);
  const c = new Client(w.url);
  const cross = await choose(c, 'ru', '/', 'http://evil.example');
  t.equal(cross.status, 403, 'a POST from another site');
  t.equal(cross.headers.get('set-cookie'), null, 'sets nothing');

  const unknown = await choose(c, 'fr', '/outbox');
  t.equal(unknown.status, 303);
  t.equal(unknown.headers.get('set-cookie'), null, 'an unknown language changes nothing');

  for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil', 'javascript:alert(1)']) {
    const res = await choose(c, 'zh', next);
    t.equal(res.headers.get('location'), '/', `no open redirect through ${next}`);
  }
  const get = await c.request('/language');
  t.equal(get.status, 303, 'a GET is not a change: it goes to the login like any unknown page');
});

t.test('every page and problem is in the chosen language, with its lang attribute', async (t) => {
  const w = await startConsole(t);
  const c = new Client(w.url);
  await c.login('aigerim', PASSWORDS.aigerim);
  await choose(c, 'zh', '/');
  for (const path of ['/', '/manifests', '/outbox', '/outages', '/alerts', '/audit', '/nowhere']) {
    const page = await (await c.request(path)).text();
    t.equal(langOf(page), 'zh-Hans', path);
    t.ok(page.includes(CATALOGUES.zh['footer.utc']), `${path}: says the times are UTC`);
    t.notOk(page.includes(CATALOGUES.en['footer.utc']), `${path}: no English footer`);
  }
  const missing = await (await c.request(`/manifests/${'ab'.repeat(32)}`)).text();
  t.ok(missing.includes(CATALOGUES.zh['problem.noManifest']), 'a problem page too');
});
