/**
 * The console in a real browser (Debian chromium driven by playwright-core), against a real
 * world: simulated locks on pseudo-terminals read by the real reader and ingested into a
 * real store, the sync engine talking to the reference exchange through the real mosquitto
 * and a TCP proxy that cuts the link (the outage), and the console on a loopback port.
 * Screenshots of every page land in var/console-screenshots/ as test artifacts.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import t from 'tap';
import { systemClock } from '../../src/clock.js';
import { type ConsistLock, LiveTrains, TrainRecorder } from '../../src/console/index.js';
import { ingestRead } from '../../src/ingest/ingest-read.js';
import { loadPublicKey } from '../../src/keys/index.js';
import { readLock } from '../../src/lock/reader.js';
import { silentLogger } from '../../src/log.js';
import { inspectManifest } from '../../src/manifest/index.js';
import type { LockFaults } from '../../src/sim/lock/simulated-lock.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import { openTestStore } from '../helpers/store.js';
import { IDENTITY, makeSyncWorld, startEngine, startTestExchange, waitFor } from '../helpers/sync-world.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';
import { PASSWORDS, startConsole } from './console-world.js';

/**
 * The few DOM shapes the callbacks below touch when they run in the page. The project
 * compiles without lib.dom (it is a Node program); these local declarations type the
 * in-page code without pulling the DOM's globals into every other file.
 */
interface DomElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelectorAll(selector: string): Iterable<DomElement>;
}
declare const document: {
  cookie: string;
  getElementById(id: string): DomElement | null;
  querySelector(selector: string): DomElement | null;
};
declare const window: { shown: string[] };
declare function getComputedStyle(element: DomElement): { borderLeftColor: string };

const SCREENSHOTS = fileURLToPath(new URL('../../var/console-screenshots/', import.meta.url));
const CHROMIUM = process.env.CTOP_CHROMIUM ?? '/usr/bin/chromium';
const TRAIN_ID = 'KZ-2025-0314-07';

interface PlannedLock {
  lockId: string;
  fixture?: string;
  faults?: LockFaults;
  /** readLock attempts (links); default 6. */
  attempts?: number;
  /** What the strip must end with. */
  expect: 'verified' | 'read' | 'tamper' | 'failed' | 'missing';
}

/**
 * The train, in consist order: a genuine lock; a 68 KB manifest whose link drops once (the
 * strip shows it reading, and a retry); a manifest by a signer this gateway trusts but the
 * exchange does not (verified here, rejected there with its reason); one by an expired
 * signer key (read, not verified); a tampered manifest; a lock whose link keeps dropping
 * (failed); and a lock on the consist list that never answers (missing).
 */
const TRAIN: PlannedLock[] = [
  { lockId: 'SSL-KZ-000123', fixture: 'wheat-kostanay-urumqi.cose', expect: 'verified' },
  {
    lockId: 'SSL-CN-001944',
    fixture: 'consolidated-300.cose',
    faults: { disconnect: { afterManifestBytes: 30_000 } },
    expect: 'verified',
  },
  { lockId: 'SSL-KZ-000001', fixture: 'invalid/unknown-signer.cose', expect: 'verified' },
  { lockId: 'SSL-CN-000457', fixture: 'invalid/expired-signer.cose', expect: 'read' },
  { lockId: 'SSL-CN-000812', fixture: 'invalid/tampered.cose', expect: 'tamper' },
  {
    lockId: 'SSL-CN-000640',
    fixture: 'electronics-xian-duisburg.cose',
    faults: { disconnect: { afterManifestBytes: 800, times: 10 } },
    attempts: 2,
    expect: 'failed',
  },
  { lockId: 'SSL-KZ-000777', expect: 'missing' },
];

const fixture = (name: string) => readFileSync(join(FIXTURE_MANIFESTS_DIR, name));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

t.test('officers watch a train, open a manifest, see an outage drain — in chromium', async (t) => {
  const started = Date.now();
  mkdirSync(SCREENSHOTS, { recursive: true });

  // --- the world: broker, exchange, a proxy to cut, the gateway's store and sync ---
  const broker = await startMosquitto(t);
  const world = makeSyncWorld(t);
  const keys = testKeys(t);
  // This gateway trusts a signer the exchange does not know: its manifest is valid here and
  // rejected there, as when trust stores drift apart (the exchange says why).
  world.agentTrust.add(loadPublicKey(keys.pubFile('rogue-signer-1')));
  const exchange = await startTestExchange(t, world, broker.url);
  const proxy = await TcpProxy.start(broker.port);
  t.teardown(() => proxy.close());
  const { store } = openTestStore(t, {
    clock: systemClock,
    trustOnFirstUse: true,
    backoff: { baseMs: 100, maxMs: 400 },
  });
  const engine = await startEngine(t, world, store, [proxy.url]);
  await waitFor(() => engine.status().connected, 10_000, 'the sync connected');

  const trains = new LiveTrains();
  const consoleWorld = await startConsole(t, {
    store,
    trust: world.agentTrust,
    trains,
    recipientKeys: [keys.key('kz-customs-recipient-1')],
  });
  const url = consoleWorld.url;

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // The refused login answers 401 on purpose; chromium reports every such status.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  const external: string[] = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(url)) return route.continue();
    external.push(u);
    return route.abort();
  });

  await t.test('a request without login is refused', async (t) => {
    await page.goto(`${url}/outbox`);
    t.equal(new URL(page.url()).pathname, '/login', 'a page redirects to the login');
    t.equal(new URL(page.url()).searchParams.get('next'), '/outbox');
    const data = await page.request.get(`${url}/api/trains`);
    t.equal(data.status(), 401, 'data answers 401');
    const stream = await page.request.get(`${url}/events/trains`);
    t.equal(stream.status(), 401, 'the live stream too');
    await shot(page, '01-login');

    await page.fill('input[name=user]', 'aigerim');
    await page.fill('input[name=password]', 'not her password');
    await page.click('button[type=submit]');
    t.match(await page.textContent('[role=alert]'), /user name or the password is wrong/);
    await shot(page, '02-login-refused');

    await page.fill('input[name=password]', PASSWORDS.aigerim);
    await page.click('button[type=submit]');
    await page.waitForURL(`${url}/outbox`);
    t.equal(
      await page.textContent('[data-testid=officer]'),
      'A. Nurlanovna',
      'logged in, back where she was going',
    );
    const cookies = await context.cookies();
    t.same(
      cookies.map((c) => [c.name, c.httpOnly, c.sameSite]),
      [['ctop_console', true, 'Strict']],
    );
    t.equal(await page.evaluate(() => document.cookie), '', 'the session id is out of reach of page script');
  });

  await t.test('the exchange becomes unreachable: the outage opens', async (t) => {
    proxy.refuse();
    proxy.cut();
    await waitFor(() => engine.status().currentOutage !== undefined, 10_000, 'the outage recorded');
    t.equal(store.outages.current()?.cause, 'connection_lost');
  });

  let recorder: TrainRecorder | undefined;
  const runTrain = async () => {
    const consist: ConsistLock[] = TRAIN.map((l) => {
      const routing = l.fixture ? inspectManifest(fixture(l.fixture), world.agentTrust).routing : undefined;
      return {
        lockId: l.lockId,
        ...(routing ? { wagon: routing.wagon, container: routing.container } : { wagon: '42990017' }),
      };
    });
    recorder = new TrainRecorder(trains, { trainId: TRAIN_ID, consist });
    for (const planned of TRAIN) {
      if (!planned.fixture) continue; // on the list, never in range
      const lock = await startSerialLock({
        lockId: planned.lockId,
        manifest: fixture(planned.fixture),
        baudRate: 460_800,
        ...(planned.faults ? { faults: planned.faults } : {}),
      });
      try {
        recorder.heard(planned.lockId);
        const result = await readLock({
          open: lock.open,
          gatewayId: IDENTITY.gatewayId,
          onProgress: recorder.progress(planned.lockId),
          backoffBaseMs: 100,
          ...(planned.attempts ? { attempts: planned.attempts } : {}),
        });
        const stored = ingestRead(result, {
          store,
          trust: world.agentTrust,
          gatewayId: IDENTITY.gatewayId,
          log: silentLogger,
        });
        const routing = stored.manifest
          ? store.manifests.get(stored.manifest.manifestId)?.routing
          : undefined;
        recorder.finished(planned.lockId, result, stored, routing);
      } finally {
        await lock.close();
      }
    }
    return recorder.finish();
  };

  await t.test('a simulated train appears lock by lock, live', async (t) => {
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.getElementById('live-status')?.textContent === 'live');
    t.ok(await page.isVisible('#no-trains'), 'no train yet');
    // Every (lock, state) the page shows, in the order it first shows it. A string, not a
    // function: tsx names functions with a helper that does not exist in the page.
    await page.evaluate(`
      window.shown = [];
      new MutationObserver(() => {
        for (const li of document.querySelectorAll('#trains li.lock')) {
          const key = li.dataset.lockId + ':' + li.dataset.state;
          if (!window.shown.includes(key)) window.shown.push(key);
        }
      }).observe(document.getElementById('trains'), { childList: true, subtree: true });
    `);
    const passing = runTrain();
    const reading = page.locator('li.lock[data-lock-id="SSL-CN-001944"][data-state="reading"]');
    await reading.waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () => {
        const li = document.querySelector('li.lock[data-lock-id="SSL-CN-001944"]');
        return li?.dataset.state === 'reading' && Number(li.dataset.bytes) > 0;
      },
      undefined,
      { timeout: 30_000 },
    );
    t.ok(await page.isHidden('#no-trains'), 'the train replaced the empty note without a reload');
    await shot(page, '03-train-reading');
    const view = await passing;
    await page.locator(`section.train[data-finished="true"]`).waitFor({ timeout: 10_000 });
    await shot(page, '04-train-passed');

    const finalStates = await page.$$eval('section.train li.lock', (lis) =>
      lis.map((li) => [
        (li as unknown as DomElement).dataset.lockId,
        (li as unknown as DomElement).dataset.state,
      ]),
    );
    t.same(
      finalStates,
      TRAIN.map((l) => [l.lockId, l.expect]),
      'wagon by wagon, in consist order, with the verdict of each lock',
    );
    t.same(
      view.locks.map((l) => l.state),
      TRAIN.map((l) => l.expect),
    );
    t.ok(view.locks[1]!.retries >= 1, 'the dropped link shows as a retry');
    t.match(await page.textContent('li.lock[data-lock-id="SSL-CN-001944"]'), /\d+ retr(y|ies)/);
    t.match(await page.textContent('li.lock[data-lock-id="SSL-CN-000812"]'), /TAMPER/);
    t.match(
      await page.textContent('li.lock[data-lock-id="SSL-CN-000640"]'),
      /E_(LOCK|TRANSPORT)_[A-Z_]+: /,
      'the failed lock says why',
    );

    const colour = (id: string) =>
      page.$eval(
        `li.lock[data-lock-id="${id}"]`,
        (li) => getComputedStyle(li as unknown as DomElement).borderLeftColor,
      );
    t.equal(await colour('SSL-KZ-000123'), 'rgb(26, 127, 55)', 'verified is green');
    t.equal(await colour('SSL-CN-000812'), 'rgb(207, 34, 46)', 'tamper is red');
    t.equal(await colour('SSL-CN-000457'), 'rgb(191, 135, 0)', 'read but not verified is amber');

    const shown = await page.evaluate(() => window.shown);
    t.ok(shown.indexOf('SSL-CN-001944:reading') >= 0, 'the big manifest was seen reading');
    t.ok(shown.indexOf('SSL-CN-001944:reading') < shown.indexOf('SSL-CN-001944:verified'), 'then verified');
    const firstShown = (id: string) => shown.findIndex((k) => k.startsWith(`${id}:`));
    const done = (id: string, state: string) => shown.indexOf(`${id}:${state}`);
    const heard = TRAIN.filter((l) => l.expect !== 'missing');
    for (let i = 1; i < heard.length; i++) {
      t.ok(
        done(heard[i - 1]!.lockId, heard[i - 1]!.expect) < firstShown(heard[i]!.lockId),
        `${heard[i]!.lockId} appeared after ${heard[i - 1]!.lockId} was ${heard[i - 1]!.expect}`,
      );
    }
    t.ok(
      done('SSL-KZ-000777', 'missing') > done('SSL-CN-000640', 'failed'),
      'the missing lock shows once the train passed',
    );
  });

  await t.test('during the outage the outbox shows the backlog and the outage', async (t) => {
    const status = store.outbox.status(Date.now());
    t.ok(status.counts.queued > 0, `${status.counts.queued} rows waiting`);
    await page.click('nav >> text=Outbox');
    await page.waitForURL(`${url}/outbox`);
    const backlog = Number(await page.textContent('[data-figure=backlog]'));
    t.equal(backlog, status.counts.queued + status.counts.in_flight, `backlog ${backlog}`);
    t.match(await page.textContent('[data-testid=oldest]'), /Oldest unacknowledged: stored/);
    t.match(
      await page.textContent('[data-testid=outage-line]'),
      /Exchange unreachable since .*connection_lost/,
    );
    await shot(page, '05-outbox-outage');
    await page.click('nav >> text=Outages');
    const open = page.locator('tr[data-open="true"]');
    t.equal(await open.count(), 1, 'one open outage');
    t.match(await open.textContent(), /open.*connection_lost/s);
    await shot(page, '06-outages-open');
  });

  await t.test(
    'the link returns: the backlog drains, the outage closes with its cause and is reported',
    async (t) => {
      proxy.restore();
      await waitFor(
        () => {
          const s = store.outbox.status(Date.now());
          return (
            s.counts.queued + s.counts.in_flight === 0 &&
            store.outages.current() === undefined &&
            store.outages.unreported().length === 0
          );
        },
        30_000,
        'the drain and the outage report',
      );
      await page.click('nav >> text=Outbox');
      t.equal(await page.textContent('[data-figure=backlog]'), '0', 'nothing waiting');
      t.match(
        await page.textContent('[data-testid=oldest]'),
        /none — everything stored has reached the exchange/,
      );
      t.match(await page.textContent('[data-testid=outage-line]'), /none open/);
      const rejections = await page.$$eval('[data-testid=rejections] td.reason', (tds) =>
        tds.map((td) => (td as unknown as DomElement).textContent),
      );
      t.same(rejections, ['manifest_unknown_signer'], 'the rejection with the reason the exchange gave');
      await shot(page, '07-outbox-drained');
      await page.click('nav >> text=Outages');
      const row = page.locator('tr[data-outage-id]');
      t.equal(await row.count(), 1);
      t.equal(await row.getAttribute('data-open'), 'false');
      const cells = await row.locator('td').allTextContents();
      t.match(cells[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/, 'an end time');
      t.equal(cells[3], 'connection_lost', 'the cause');
      t.match(cells[5], /^\d{4}-\d\d-\d\d/, 'reported to the exchange');
      t.equal(exchange.db.outageReports().length, 1, 'and the exchange has the report');
      await shot(page, '08-outages-closed');
    },
  );

  await t.test('a customs officer opens a manifest and decrypts its goods', async (t) => {
    await page.click('nav >> text=Trains');
    await page.click('li.lock[data-lock-id="SSL-KZ-000123"] a');
    await page.waitForURL(/\/manifests\/[0-9a-f]{64}$/);
    const routing = await page.textContent('[data-testid=routing]');
    t.match(routing, /FCIU5093182/);
    t.match(routing, /42546184/);
    t.match(routing, /kz-customs-recipient-1/);
    t.equal(await page.locator('[data-testid=goods]').count(), 0, 'no goods before the officer asks');
    await shot(page, '09-manifest');
    await page.click('text=Show goods');
    await page.locator('[data-testid=goods]').waitFor();
    t.match(await page.textContent('[data-testid=goods] tbody'), /Пшеница мягкая 3 класса/);
    t.match(await page.textContent('[data-testid=goods] tbody'), /1001\d{6}/, 'the HS code');
    await shot(page, '10-manifest-goods');
    const decrypts = store.audit.list({ action: 'decrypt' });
    t.same(
      decrypts.map((a) => [a.officer, a.outcome]),
      [['aigerim', 'ok']],
    );
  });

  await t.test('alerts and the audit trail', async (t) => {
    await page.click('nav >> text=Alerts');
    const kinds = await page.$$eval('tr[data-kind]', (rows) =>
      rows.map((r) => (r as unknown as DomElement).dataset.kind),
    );
    t.ok(kinds.includes('bad_signature'), `alerts: ${kinds.join(', ')}`);
    t.ok(kinds.includes('tamper'));
    t.ok(kinds.includes('expired'));
    await shot(page, '11-alerts');
    await page.click('nav >> text=Audit');
    const rows = await page.$$eval('[data-testid=audit] tbody tr', (trs) =>
      trs.map((tr) =>
        Array.from((tr as unknown as DomElement).querySelectorAll('td')).map((td) => td.textContent),
      ),
    );
    t.same(rows[0]!.slice(1, 5), ['aigerim', 'view', '/audit', 'ok'], 'this very view is the newest line');
    t.ok(
      rows.some((r) => r[2] === 'decrypt' && r[4] === 'ok'),
      'the decrypt is listed',
    );
    t.ok(rows.some((r) => r[2] === 'login_failed'));
    await shot(page, '12-audit');
  });

  await t.test('a viewer sees routing but not goods; logging out ends the live stream at once', async (t) => {
    const viewerContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    t.teardown(() => viewerContext.close());
    const viewer = await viewerContext.newPage();
    await viewer.goto(`${url}/login`);
    await viewer.fill('input[name=user]', 'bolat');
    await viewer.fill('input[name=password]', PASSWORDS.bolat);
    await viewer.click('button[type=submit]');
    await viewer.waitForURL(`${url}/`);
    await viewer.waitForFunction(() => document.getElementById('live-status')?.textContent === 'live');
    const href = await viewer.getAttribute('li.lock[data-lock-id="SSL-KZ-000123"] a', 'href');
    await viewer.goto(`${url}${href}`);
    t.match(await viewer.textContent('[data-testid=goods-access]'), /customs role only/);
    t.equal(await viewer.locator('text=Show goods').count(), 0);
    await shot(viewer, '13-manifest-viewer');
    const forced = await viewer.goto(`${url}${href}/goods`);
    t.equal(forced?.status(), 403);
    t.equal(await viewer.locator('[data-testid=goods]').count(), 0);

    await viewer.goto(`${url}/`);
    await viewer.waitForFunction(() => document.getElementById('live-status')?.textContent === 'live');
    // Logged out from another tab of the same session: the open page is told and leaves.
    const other = await viewerContext.newPage();
    await other.goto(`${url}/outbox`);
    await other.click('text=Log out');
    await other.waitForURL(`${url}/login`);
    await viewer.waitForURL(/\/login/, { timeout: 10_000 });
    t.pass('the live page went to the login when the session ended');
  });

  await t.test('logging out: the session is gone for pages and data', async (t) => {
    await page.click('text=Log out');
    await page.waitForURL(`${url}/login`);
    await shot(page, '14-logged-out');
    await page.goto(`${url}/`);
    t.equal(new URL(page.url()).pathname, '/login');
    t.equal((await page.request.get(`${url}/api/session`)).status(), 401);
    t.same(pageErrors, [], 'no script errors in the pages');
    t.same(external, [], 'nothing requested from anywhere but the console');
    // Reported, not asserted: how long the browser takes is the machine's business.
    t.comment(`browser suite: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
