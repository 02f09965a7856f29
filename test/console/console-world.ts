/**
 * A console on a real store and a real loopback port for the console's tests: officer
 * accounts with real scrypt hashes, the committed test keys, a train feed, and a tiny
 * cookie-keeping HTTP client for the tests that do not need the browser.
 */
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.js';
import { type ConsoleOptions, createConsole, hashPassword, LiveTrains } from '../../src/console/index.js';
import type { Logger } from '../../src/log.js';
import type { Store } from '../../src/store/index.js';
import { openTestStore } from '../helpers/store.js';
import { type TestKeys, testKeys } from '../helpers/test-keys.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export const PASSWORDS = {
  aigerim: 'Dostyk-customs-2025!',
  bolat: 'viewer passphrase 7',
} as const;

/** Hashed once per process: scrypt at the production cost takes ~0.1 s. */
let accounts: Promise<ConsoleOptions['officers']> | undefined;
export function officerAccounts(): Promise<ConsoleOptions['officers']> {
  accounts ??= (async () => [
    {
      user: 'aigerim',
      name: 'A. Nurlanovna',
      roles: ['customs'],
      passwordHash: await hashPassword(PASSWORDS.aigerim),
    },
    { user: 'bolat', roles: ['viewer'], passwordHash: await hashPassword(PASSWORDS.bolat) },
  ])();
  return accounts;
}

export interface ConsoleWorld {
  url: string;
  store: Store;
  keys: TestKeys;
  trains: LiveTrains;
  close(): Promise<void>;
}

export async function startConsole(
  t: Teardown,
  options: Partial<ConsoleOptions> & { store?: Store; clock?: Clock; log?: Logger } = {},
): Promise<ConsoleWorld> {
  const keys = testKeys(t);
  const store = options.store ?? openTestStore(t, options.clock ? { clock: options.clock } : {}).store;
  const trains = (options.trains as LiveTrains | undefined) ?? new LiveTrains();
  const app = createConsole({
    store,
    trust: keys.trustStore(),
    recipientKeys: [keys.key('kz-customs-recipient-1')],
    officers: await officerAccounts(),
    trains,
    metricsPath: 'http://127.0.0.1:9464/metrics',
    site: 'Dostyk · gw-dostyk-1',
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const close = () => app.close();
  t.teardown(close);
  const { port } = app.server.address() as AddressInfo;
  return { url: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`, store, keys, trains, close };
}

/** fetch with a cookie jar (the session cookie and the language one) and no redirects followed. */
export class Client {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  /** The session cookie as `name=value`, as the tests compare and forge it. */
  get cookie(): string | undefined {
    for (const [name, value] of this.jar) if (/ctop_console$/.test(name)) return `${name}=${value}`;
    return undefined;
  }

  set cookie(pair: string | undefined) {
    for (const name of [...this.jar.keys()]) if (/ctop_console$/.test(name)) this.jar.delete(name);
    if (pair) {
      const at = pair.indexOf('=');
      this.jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size > 0) headers.set('cookie', [...this.jar].map(([n, v]) => `${n}=${v}`).join('; '));
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      if (/=$/.test(pair!) || /expires=Thu, 01 Jan 1970/i.test(set)) this.jar.delete(name);
      else this.jar.set(name, pair!.slice(at + 1));
    }
    return res;
  }

  login(user: string, password: string, extra: Record<string, string> = {}): Promise<Response> {
    return this.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base },
      body: new URLSearchParams({ user, password, ...extra }).toString(),
    });
  }
}
