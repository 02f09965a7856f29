/**
 * The screenshots of docs/CONSOLE.md: every page of the officers' console in English,
 * Russian, Kazakh and Chinese, taken in Debian chromium from the same world the browser
 * test builds (test/console/browser-world.ts: simulated locks read through the real
 * reader, an exchange outage through the real mosquitto, its drain with a rejection).
 *
 *   npx tsx scripts/console-screenshots.ts [--out docs/console] [--scale 0.6]
 *
 * Each page is shot at 1280×800 (and the trains page at 390×844, a phone) with a device
 * scale below 1, so the files stay small; pngquant (Debian: pngquant) squeezes them
 * further when it is installed. Not part of the tests: run it after changing a page.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { CATALOGUES } from '../src/console/i18n/catalogues.js';
import { LANGUAGE_INFO, LANGUAGES, type Language } from '../src/console/i18n/languages.js';
import { passTrainThroughOutage, startBrowserWorld } from '../test/console/browser-world.js';
import { PASSWORDS } from '../test/console/console-world.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/console' },
    scale: { type: 'string', default: '0.6' },
  },
});
const out = path.resolve(values.out);
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 2)) throw new Error('--scale must be in (0, 2]');

/** The pages in the order docs/CONSOLE.md shows them. */
export const SHOTS = [
  'login',
  'trains',
  'manifests',
  'goods',
  'outbox',
  'outages',
  'alerts',
  'audit',
] as const;

const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };

async function shoot(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: file });
  if (existsSync('/usr/bin/pngquant')) {
    spawnSync('pngquant', ['--quality=55-80', '--speed=1', '--strip', '--force', '--output', file, file], {
      stdio: 'inherit',
    });
  }
}

async function pagesIn(browser: Browser, url: string, lang: Language, wheat: string): Promise<string[]> {
  const written: string[] = [];
  const file = (name: string) => path.join(out, `${lang}-${name}.png`);
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: scale,
    locale: LANGUAGE_INFO[lang].locale,
  });
  const page = await context.newPage();
  const at = async (name: (typeof SHOTS)[number], go: () => Promise<unknown>) => {
    await go();
    await shoot(page, file(name));
    written.push(file(name));
  };
  await at('login', () => page.goto(`${url}/login`));
  await page.fill('input[name=user]', 'aigerim');
  await page.fill('input[name=password]', PASSWORDS.aigerim);
  await page.click('form.login button[type=submit]');
  await page.waitForURL(`${url}/`);
  await at('trains', () =>
    page.waitForFunction('document.getElementById("live-status").className === "live"'),
  );
  await at('manifests', () => page.goto(`${url}/manifests`));
  await at('goods', async () => {
    await page.goto(`${url}/manifests/${wheat}`);
    await page.click(`text=${CATALOGUES[lang]['goods.show']}`);
    await page.locator('[data-testid=goods]').scrollIntoViewIfNeeded();
  });
  await at('outbox', () => page.goto(`${url}/outbox`));
  await at('outages', () => page.goto(`${url}/outages`));
  await at('alerts', () => page.goto(`${url}/alerts`));
  await at('audit', () => page.goto(`${url}/audit`));
  await context.close();

  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: scale,
    locale: LANGUAGE_INFO[lang].locale,
  });
  const small = await phone.newPage();
  await small.goto(`${url}/login`);
  await small.fill('input[name=user]', 'aigerim');
  await small.fill('input[name=password]', PASSWORDS.aigerim);
  await small.click('form.login button[type=submit]');
  await small.waitForURL(`${url}/`);
  await small.waitForFunction('document.getElementById("live-status").className === "live"');
  await shoot(small, file('phone-trains'));
  written.push(file('phone-trains'));
  await phone.close();
  return written;
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const world = await startBrowserWorld(t);
  await passTrainThroughOutage(world);
  const wheat = world.store.manifests.list({ container: 'FCIU5093182' })[0]!.manifestId;
  let bytes = 0;
  let count = 0;
  for (const lang of LANGUAGES) {
    for (const file of await pagesIn(world.browser, world.url, lang, wheat)) {
      bytes += statSync(file).size;
      count++;
    }
  }
  console.log(`${count} screenshots in ${out}: ${(bytes / 1024).toFixed(0)} KiB in all`);
  if (!existsSync('/usr/bin/pngquant'))
    console.log('(pngquant not installed: apt-get install pngquant makes them smaller)');
}

try {
  await main();
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
