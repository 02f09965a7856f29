import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { CONTENT_SECURITY_POLICY, createConsole } from '../../src/console/index.js';
import { isCtopError } from '../../src/errors.js';
import { ingestRecord } from '../../src/ingest/ingest-read.js';
import { inspectManifest } from '../../src/manifest/index.js';
import type { ReadToRecord, Store } from '../../src/store/index.js';
import { makeTestPki } from '../helpers/pki.js';
import { ManualClock, openTestStore, TestLock } from '../helpers/store.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';
import { Client, officerAccounts, PASSWORDS, startConsole } from './console-world.js';

/** The console over real HTTP on loopback: the gate, the session, the login limit, the audit trail, the logs. */

const PAGES = ['/', '/manifests', '/outbox', '/outages', '/alerts', '/audit', '/no-such-page'];

function storeFixture(store: Store, name: string, seed: number): string {
  const bytes = readFileSync(join(FIXTURE_MANIFESTS_DIR, name));
  const trust = testKeys({ teardown: () => {} }).trustStore();
  const inspection = inspectManifest(bytes, trust);
  const lock = new TestLock(inspection.routing?.lockId ?? `SSL-T-${seed}`, seed, bytes);
  ingestRecord(store, { read: lock.read(), inspection: inspection as ReadToRecord['inspection'] });
  return inspection.manifestId;
}

t.test('without a session every page redirects to the login and every data request gets 401', async (t) => {
  const w = await startConsole(t);
  const c = new Client(w.url);
  for (const path of [...PAGES, `/manifests/${'ab'.repeat(32)}`, `/manifests/${'ab'.repeat(32)}/goods`]) {
    const res = await c.request(path);
    t.equal(res.status, 303, path);
    t.equal(res.headers.get('location'), `/login?next=${encodeURIComponent(path)}`);
  }
  for (const path of ['/api/trains', '/api/session', '/events/trains']) {
    const res = await c.request(path);
    t.equal(res.status, 401, path);
    t.same(await res.json(), { error: 'login required' });
  }
  const head = await c.request(`/manifests/${'ab'.repeat(32)}/goods`, { method: 'HEAD' });
  t.equal(head.status, 303, 'HEAD is gated like GET');
  const logout = await c.request('/logout', { method: 'POST', headers: { origin: w.url } });
  t.equal(logout.status, 401);
  const forged = await new Client(w.url);
  forged.cookie = 'ctop_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  t.equal((await forged.request('/api/session')).status, 401, 'a made-up session id is nobody');
  for (const raw of ['/login/../outbox', '/assets/../outbox', '/assets/%2e%2e/audit', '//login']) {
    // Sent exactly as written (fetch would normalise the dots away).
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${w.url}/`, { path: raw }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    t.ok(status === 303 || status === 403, `${raw}: refused (${status})`);
  }
  t.equal((await c.request('/login')).status, 200, 'the login page itself is open');
  t.equal((await c.request('/assets/console.css')).status, 200, 'and so are the assets');
  t.same(w.store.audit.list(), [], 'refused requests name nobody: nothing to audit');
});

t.test(
  'login: cookie flags, a new random id per login, views audited, logout ends the session',
  async (t) => {
    const w = await startConsole(t);
    const c = new Client(w.url);
    const res = await c.login('aigerim', PASSWORDS.aigerim, { next: '/outbox' });
    t.equal(res.status, 303);
    t.equal(res.headers.get('location'), '/outbox');
    const setCookie = res.headers.get('set-cookie')!;
    t.match(setCookie, /^ctop_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    t.notMatch(setCookie, /Max-Age|Expires/i, 'a browser-session cookie; the server decides expiry');
    const first = c.cookie;
    t.equal((await c.request('/outbox')).status, 200);
    t.same(await (await c.request('/api/session')).json(), {
      user: 'aigerim',
      name: 'A. Nurlanovna',
      roles: ['customs'],
      language: 'en',
    });
    await c.login('aigerim', PASSWORDS.aigerim);
    const second = c.cookie;
    t.ok(second);
    t.not(second, first, 'logging in again issues a new id (no fixation)');
    const old = new Client(w.url);
    old.cookie = first;
    t.equal((await old.request('/api/session')).status, 401, 'and the old one is gone');

    const trail = w.store.audit.list().reverse();
    t.same(
      trail.map((a) => [a.officer, a.action, a.target, a.outcome, a.remote]),
      [
        ['aigerim', 'login', undefined, 'ok', '127.0.0.1'],
        ['aigerim', 'view', '/outbox', 'ok', '127.0.0.1'],
        ['aigerim', 'view', '/api/session', 'ok', '127.0.0.1'],
        ['aigerim', 'login', undefined, 'ok', '127.0.0.1'],
      ],
    );

    const out = await c.request('/logout', { method: 'POST', headers: { origin: w.url } });
    t.equal(out.status, 303);
    t.equal(out.headers.get('location'), '/login');
    t.match(out.headers.get('set-cookie'), /^ctop_console=; .*Expires=Thu, 01 Jan 1970/);
    const loggedOut = new Client(w.url);
    loggedOut.cookie = second;
    t.equal((await loggedOut.request('/api/session')).status, 401, 'the logged-out id is refused');
    t.equal(w.store.audit.list()[0]!.action, 'logout');
  },
);

t.test('wrong passwords are refused alike, recorded, and limited per address and account', async (t) => {
  const clock = new ManualClock();
  const w = await startConsole(t, { clock, loginLimit: { maxFailures: 3, windowMs: 10 * 60_000 } });
  const c = new Client(w.url);
  const wrong = await c.login('aigerim', 'not her password');
  t.equal(wrong.status, 401);
  t.match(await wrong.text(), /The user name or the password is wrong/);
  const unknown = await c.login('mallory.typed-her-password-here', 'anything at all');
  t.equal(unknown.status, 401);
  t.match(
    await unknown.text(),
    /The user name or the password is wrong/,
    'the same answer for an unknown name',
  );
  t.equal(c.cookie, undefined);
  t.same(
    w.store.audit.list().map((a) => [a.officer, a.action, a.outcome, a.detail]),
    [
      ['-', 'login_failed', 'refused', 'unknown user name'],
      ['aigerim', 'login_failed', 'refused', 'wrong password'],
    ],
  );
  t.notMatch(
    JSON.stringify(w.store.db.prepare('SELECT * FROM audit').all()),
    /mallory/,
    'an unknown name is not kept: it may be a password typed in the wrong field',
  );

  await c.login('aigerim', 'still not it');
  const limited = await c.login('aigerim', PASSWORDS.aigerim);
  t.equal(
    limited.status,
    429,
    'the third failure from this address locks it out, even for the right password',
  );
  t.equal(limited.headers.get('retry-after'), '600');
  t.equal(c.cookie, undefined);
  const other = new Client(w.url);
  t.equal((await other.login('bolat', PASSWORDS.bolat)).status, 429, 'the lock-out is per address too');
  clock.advance(10 * 60_000);
  t.equal(
    (await c.login('aigerim', PASSWORDS.aigerim)).status,
    303,
    'the window over, the right password works',
  );
  t.ok(c.cookie);
});

t.test('sessions end after the idle time and after the maximum, whatever the activity', async (t) => {
  const clock = new ManualClock();
  const w = await startConsole(t, { clock, session: { idleMs: 10 * 60_000, maxMs: 60 * 60_000 } });
  const c = new Client(w.url);
  await c.login('bolat', PASSWORDS.bolat);
  clock.advance(9 * 60_000);
  t.equal((await c.request('/outbox')).status, 200, 'active within the idle time');
  clock.advance(9 * 60_000);
  t.equal((await c.request('/outbox')).status, 200, 'the last request counts');
  clock.advance(10 * 60_000);
  const idle = await c.request('/outbox');
  t.equal(idle.status, 303, 'idle too long: back to the login');
  await c.login('bolat', PASSWORDS.bolat);
  for (let i = 0; i < 7; i++) {
    clock.advance(9 * 60_000);
    await c.request('/');
  }
  t.equal((await c.request('/api/session')).status, 401, 'past the maximum, busy or not');
});

t.test('cross-site posts are refused; the login only returns to local paths', async (t) => {
  const w = await startConsole(t);
  const evil = await fetch(`${w.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    body: new URLSearchParams({ user: 'aigerim', password: PASSWORDS.aigerim }).toString(),
  });
  t.equal(evil.status, 403, 'login CSRF: a form on another site cannot log the officer in');
  t.equal(evil.headers.get('set-cookie'), null);
  const crossSite = await fetch(`${w.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
    body: new URLSearchParams({ user: 'aigerim', password: PASSWORDS.aigerim }).toString(),
  });
  t.equal(crossSite.status, 403);
  for (const [next, to] of [
    ['//evil.example/x', '/'],
    ['https://evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['/login?next=/x', '/'],
    ['/alerts?days=7', '/alerts?days=7'],
  ]) {
    const c = new Client(w.url);
    const res = await c.login('bolat', PASSWORDS.bolat, { next: next! });
    t.equal(res.headers.get('location'), to, `next=${next}`);
  }
});

t.test('every answer carries the security headers; confidential ones are never cached', async (t) => {
  const w = await startConsole(t);
  const c = new Client(w.url);
  await c.login('aigerim', PASSWORDS.aigerim);
  const check = (res: Response, what: string) => {
    t.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, what);
    t.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
    t.equal(res.headers.get('x-frame-options'), 'DENY', what);
    t.equal(res.headers.get('referrer-policy'), 'same-origin', what);
  };
  for (const path of PAGES) {
    const res = await c.request(path);
    check(res, path);
    t.equal(res.headers.get('cache-control'), 'no-store', path);
    const body = await res.text();
    t.notMatch(body, /<script(?![^>]*\bsrc="\/assets\/)/, `${path}: no inline script`);
    t.notMatch(body, /https?:\/\/(?!127\.0\.0\.1:9464\/metrics)/, `${path}: nothing from elsewhere`);
  }
  check(await new Client(w.url).request('/api/trains'), '401');
  check(await c.request('/assets/trains.js'), 'asset');
  const controller = new AbortController();
  const stream = await c.request('/events/trains', { signal: controller.signal });
  t.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  check(stream, 'event stream');
  t.equal(stream.headers.get('cache-control'), 'no-store');
  controller.abort();
});

t.test(
  'decrypting: customs role and a held key only, refused cases recorded with their reason',
  async (t) => {
    const { store } = openTestStore(t);
    const wheat = storeFixture(store, 'wheat-kostanay-urumqi.cose', 1);
    const cnOnly = storeFixture(store, 'minimal.cose', 2);
    const tampered = storeFixture(store, 'invalid/tampered.cose', 3);
    const w = await startConsole(t, { store });
    const customs = new Client(w.url);
    await customs.login('aigerim', PASSWORDS.aigerim);
    const viewer = new Client(w.url);
    await viewer.login('bolat', PASSWORDS.bolat);

    const page = await (await viewer.request(`/manifests/${wheat}`)).text();
    t.match(page, /FCIU5093182/, 'routing fields for every officer');
    t.match(page, /shown to officers with the customs role only/);
    t.notMatch(page, /\/goods"/, 'no decrypt link for a viewer');
    const refused = await viewer.request(`/manifests/${wheat}/goods`);
    t.equal(refused.status, 403);
    t.notMatch(await refused.text(), /data-testid="goods"/);

    const offer = await (await customs.request(`/manifests/${wheat}`)).text();
    t.match(offer, new RegExp(`href="/manifests/${wheat}/goods"`));
    const goods = await customs.request(`/manifests/${wheat}/goods`);
    t.equal(goods.status, 200);
    const goodsPage = await goods.text();
    t.match(goodsPage, /data-testid="goods"/);
    t.match(goodsPage, /1 goods line\b/);

    const head = await customs.request(`/manifests/${wheat}/goods`, { method: 'HEAD' });
    t.equal(head.status, 404, 'no HEAD twin that would decrypt for nothing');
    const noKey = await customs.request(`/manifests/${cnOnly}/goods`);
    t.equal(
      noKey.status,
      403,
      'minimal.cose is encrypted for CN customs only; this checkpoint holds the KZ key',
    );
    t.match(await noKey.text(), /holds no customs key/);
    const evidence = await customs.request(`/manifests/${tampered}/goods`);
    t.ok([403, 422].includes(evidence.status), `a tampered manifest is never decrypted (${evidence.status})`);
    t.equal((await customs.request(`/manifests/${'0'.repeat(64)}/goods`)).status, 404);

    t.same(
      store.audit
        .list({ action: 'decrypt' })
        .reverse()
        .map((a) => [a.officer, a.target?.slice(0, 8), a.outcome]),
      [
        ['bolat', wheat.slice(0, 8), 'refused'],
        ['aigerim', wheat.slice(0, 8), 'ok'],
        ['aigerim', cnOnly.slice(0, 8), 'refused'],
        ['aigerim', tampered.slice(0, 8), 'refused'],
        ['aigerim', '00000000', 'refused'],
      ],
    );
    t.equal(
      store.audit.list({ action: 'view' }).filter((a) => a.target?.endsWith('/goods')).length,
      0,
      'a decrypt is one entry of its own, not also a view',
    );
  },
);

t.test('when the audit trail cannot be written, views are refused, not shown unrecorded', async (t) => {
  const { store } = openTestStore(t);
  const w = await startConsole(t, { store });
  const c = new Client(w.url);
  await c.login('aigerim', PASSWORDS.aigerim);
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  store.db.pragma(`max_page_count = ${pages}`);
  let res: Response | undefined;
  for (let i = 0; i < 400; i++) {
    res = await c.request(`/outbox?${'x'.repeat(400)}${i}`);
    if (res.status !== 200) break;
  }
  t.equal(res!.status, 503);
  const body = await res!.text();
  t.match(body, /E_STORE_FULL/);
  t.notMatch(body, /data-testid="outbox-figures"/, 'the page itself is not sent');
  store.db.pragma(`max_page_count = ${pages + 10_000}`);
  t.equal((await c.request('/outbox')).status, 200, 'back once there is room');
});

t.test('passwords, session ids and goods never reach the log', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = pino({ level: 'trace' }, sink);
  const { store } = openTestStore(t);
  const wheat = storeFixture(store, 'wheat-kostanay-urumqi.cose', 1);
  const w = await startConsole(t, { store, log });
  const c = new Client(w.url);
  await c.login('aigerim', 'a wrong guess at her password');
  await c.login('aigerim', PASSWORDS.aigerim);
  const goods = await (await c.request(`/manifests/${wheat}/goods`)).text();
  const goodsName = /<td class="goods-name" translate="no">([^<]+)<\/td>/.exec(goods)?.[1];
  t.ok(goodsName, `the goods line shown: ${goodsName}`);
  await c.request('/logout', { method: 'POST', headers: { origin: w.url } });
  const all = lines.join('');
  t.match(all, /officer logged in/, 'the log has the login');
  t.match(all, /manifest decrypted for an officer/, 'and the decrypt');
  t.notMatch(all, /wrong guess/);
  t.notMatch(all, new RegExp(PASSWORDS.aigerim.replace(/[!]/g, '\\$&')));
  t.notMatch(all, new RegExp(c.cookie?.split('=')[1] ?? 'no-cookie-left'));
  t.notMatch(all, new RegExp(goodsName!.slice(0, 12)), 'no goods line');
});

t.test('untrusted text is escaped wherever it is shown', async (t) => {
  const w = await startConsole(t);
  const hostile = '<img src=x onerror=alert(1)>';
  w.trains.publish({
    trainId: `T"><script>alert(1)</script>`,
    startedAt: Date.now(),
    locks: [
      { lockId: hostile, wagon: hostile, state: 'failed', bytes: 0, total: 0, retries: 0, error: hostile },
    ],
  });
  const c = new Client(w.url);
  await c.login('bolat', PASSWORDS.bolat);
  const home = await (await c.request('/')).text();
  t.notMatch(home, /<img src=x/);
  t.notMatch(home, /<script>alert/);
  t.match(home, /&lt;img src=x onerror=alert\(1\)&gt;/);
  const audit = await (await c.request(`/audit?officer=${encodeURIComponent('"><b>')}`)).text();
  t.notMatch(audit, /"><b>/);
});

t.test('bad configuration fails at start-up with E_CONSOLE_CONFIG', async (t) => {
  const { store } = openTestStore(t);
  const keys = testKeys(t);
  const officers = await officerAccounts();
  const base = { store, trust: keys.trustStore(), officers };
  for (const [options, why] of [
    [{ ...base, officers: [] }, /at least one officer/],
    [{ ...base, recipientKeys: [keys.key('kz-customs-signer-1')] }, /not a customs recipient/],
    [{ ...base, metricsPath: 'javascript:alert(1)' }, /metricsPath/],
    [{ ...base, officers: [{ ...officers[0]!, passwordHash: 'plain' }] }, /passwordHash/],
  ] as const) {
    const err = t.throws(() => createConsole(options as never));
    t.ok(isCtopError(err, 'E_CONSOLE_CONFIG'), String(why));
    t.match((err as Error).message, why);
  }
});

t.test('a live page is told when its session ends by idling, and the stream closes', async (t) => {
  const clock = new ManualClock();
  const w = await startConsole(t, {
    clock,
    session: { idleMs: 10 * 60_000 },
    live: { heartbeatMs: 50, intervalMs: 10 },
  });
  const c = new Client(w.url);
  await c.login('bolat', PASSWORDS.bolat);
  const res = await c.request('/events/trains');
  t.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) return false;
      text += decoder.decode(value);
    }
    return true;
  };
  w.trains.publish({ trainId: 'KZ-1', startedAt: clock.now(), locks: [] });
  t.ok(await until(/event: train\ndata: \{"trainId":"KZ-1"/), 'a train update arrives on the stream');
  t.ok(await until(/: ping/), 'heartbeats keep it open');
  clock.advance(10 * 60_000);
  t.ok(await until(/event: expired/), 'told the session expired');
  t.equal(await until(/never/), false, 'and the server ended the stream');
  t.equal((await c.request('/api/session')).status, 401);
});

t.test('over HTTPS the cookie is Secure and host-only (__Host- prefix)', async (t) => {
  const pki = makeTestPki(t);
  const w = await startConsole(t, {
    https: { key: readFileSync(pki.server.keyFile), cert: readFileSync(pki.server.certFile) },
  });
  t.match(w.url, /^https:/);
  const body = new URLSearchParams({ user: 'aigerim', password: PASSWORDS.aigerim }).toString();
  const res = await new Promise<{ status: number; cookie: string | undefined }>((resolve, reject) => {
    const req = httpsRequest(
      `${w.url}/login`,
      {
        method: 'POST',
        ca: readFileSync(pki.caFile),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: w.url },
      },
      (r) => {
        r.resume();
        resolve({ status: r.statusCode!, cookie: r.headers['set-cookie']?.[0] });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  t.equal(res.status, 303);
  t.match(res.cookie, /^__Host-ctop_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
});
