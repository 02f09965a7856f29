/**
 * The brokers the sync is tested against, each with the identities of its parties: the
 * gateway (the agent), the reference exchange, and an observer with the exchange's rights.
 * test/sync/broker-suite.ts runs one shared suite against each of them.
 *
 * - mosquitto: anonymous, with or without persistence (sessions survive a restart with it);
 * - mosquitto-password, mosquitto-tls: password accounts or client certificates, and the
 *   topic ACL of EXCHANGE.md §2.3;
 * - ejabberd-password, ejabberd-tls: ejabberd's MQTT service, the same two logins (the
 *   password inside TLS) and the same ACL; its sessions live in memory only, so a broker
 *   restart loses them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IClientOptions } from 'mqtt';
import { type ExchangeOptions, mosquittoAcl } from '../../src/reference-exchange/index.js';
import type { SyncConfig } from '../../src/sync/index.js';
import { startEjabberd } from './ejabberd.js';
import { type MosquittoOptions, startMosquitto } from './mosquitto.js';
import { makeTestPki } from './pki.js';
import { IDENTITY, type SyncWorld } from './sync-world.js';

export type SyncBrokerKind =
  | 'mosquitto'
  | 'mosquitto-password'
  | 'mosquitto-tls'
  | 'ejabberd-password'
  | 'ejabberd-tls';

export interface SyncBroker {
  readonly kind: SyncBrokerKind;
  /** For test names. */
  readonly name: string;
  readonly url: string;
  /** The gateway's connection settings: TLS files, user name and password file. */
  readonly agent: Partial<SyncConfig>;
  /** The reference exchange's. */
  readonly exchange: Partial<ExchangeOptions>;
  /** Whether sessions (subscriptions, queued receipts) survive a restart of the broker. */
  readonly persistentSessions: boolean;
  /** mqtt.js options for a watcher with the exchange's rights (it may read every status). */
  observer(clientId: string): IClientOptions;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export const EXCHANGE_USER = 'exchange';
const GATEWAY_PASSWORD = 'gateway password, not to be logged';
const EXCHANGE_PASSWORD = 'exchange-password';

/** The gateway's password file in the world's directory, owner-only as the agent requires. */
function gatewayPasswordFile(world: SyncWorld): string {
  const file = path.join(world.dir, 'broker-password');
  writeFileSync(file, `${GATEWAY_PASSWORD}\n`, { mode: 0o600 });
  return file;
}

/** The password the gateway logs in with (tests check it never reaches a log line). */
export const TEST_GATEWAY_PASSWORD = GATEWAY_PASSWORD;

/** A broker of `kind` for one test, with its parties' identities; removed in teardown. */
export async function startSyncBroker(
  t: Teardown,
  world: SyncWorld,
  kind: SyncBrokerKind,
  options: { persistence?: boolean } = {},
): Promise<SyncBroker> {
  const users = { [IDENTITY.gatewayId]: GATEWAY_PASSWORD, [EXCHANGE_USER]: EXCHANGE_PASSWORD };
  const password = {
    agent: { username: IDENTITY.gatewayId, passwordFile: gatewayPasswordFile(world) },
    exchange: { username: EXCHANGE_USER, password: Buffer.from(EXCHANGE_PASSWORD) },
    observer: { username: EXCHANGE_USER, password: EXCHANGE_PASSWORD },
  };
  if (kind === 'mosquitto' || kind === 'mosquitto-password') {
    const mosquittoOptions: MosquittoOptions = {
      persistence: options.persistence ?? false,
      ...(kind === 'mosquitto-password' ? { users, acl: mosquittoAcl({ exchangeUser: EXCHANGE_USER }) } : {}),
    };
    const broker = await startMosquitto(t, mosquittoOptions);
    const login = kind === 'mosquitto-password' ? password : { agent: {}, exchange: {}, observer: {} };
    return {
      kind,
      name: kind === 'mosquitto' ? 'mosquitto' : 'mosquitto, password login',
      url: broker.url,
      agent: login.agent,
      exchange: login.exchange,
      persistentSessions: options.persistence === true,
      observer: (clientId) => ({ clientId, ...login.observer }),
      kill: (signal) => broker.kill(signal),
      restart: () => broker.restart(),
    };
  }
  if (kind === 'ejabberd-password') {
    // As in production: the password only inside TLS (the server's certificate, none of the client's).
    const pki = makeTestPki(t);
    const broker = await startEjabberd(t, {
      tls: { caFile: pki.caFile, ...pki.server, verifyClients: false },
      users,
      acl: { exchangeUser: EXCHANGE_USER },
    });
    const tls = { caFile: pki.caFile };
    return {
      kind,
      name: 'ejabberd, password login over TLS',
      url: broker.tlsUrl,
      agent: { ...password.agent, tls },
      exchange: { ...password.exchange, tls },
      persistentSessions: false,
      observer: (clientId) => ({
        clientId,
        ...password.observer,
        ca: readFileSync(pki.caFile),
        rejectUnauthorized: true,
      }),
      kill: (signal) => broker.kill(signal),
      restart: () => broker.restart(),
    };
  }
  const pki = makeTestPki(t);
  const gatewayCert = { caFile: pki.caFile, ...pki.client(IDENTITY.gatewayId) };
  const exchangeCert = { caFile: pki.caFile, ...pki.client(EXCHANGE_USER) };
  const tlsOptions = (cert: typeof exchangeCert): IClientOptions => ({
    ca: readFileSync(cert.caFile),
    cert: readFileSync(cert.certFile),
    key: readFileSync(cert.keyFile),
    rejectUnauthorized: true,
  });
  // The exchange's client id is not its CN: it names itself by user name (ejabberd needs one of the two).
  const exchange = { tls: exchangeCert, username: EXCHANGE_USER };
  const observer = (clientId: string) => ({ clientId, username: EXCHANGE_USER, ...tlsOptions(exchangeCert) });
  if (kind === 'mosquitto-tls') {
    const broker = await startMosquitto(t, {
      persistence: options.persistence ?? false,
      tls: { caFile: pki.caFile, ...pki.server, acl: mosquittoAcl({ exchangeUser: EXCHANGE_USER }) },
    });
    return {
      kind,
      name: 'mosquitto, TLS client certificates',
      url: `mqtts://127.0.0.1:${broker.port}`,
      agent: { tls: gatewayCert },
      exchange,
      persistentSessions: options.persistence === true,
      observer,
      kill: (signal) => broker.kill(signal),
      restart: () => broker.restart(),
    };
  }
  const broker = await startEjabberd(t, {
    tls: { caFile: pki.caFile, ...pki.server },
    acl: { exchangeUser: EXCHANGE_USER },
  });
  return {
    kind,
    name: 'ejabberd, TLS client certificates',
    url: broker.tlsUrl,
    agent: { tls: gatewayCert },
    exchange,
    persistentSessions: false,
    observer,
    kill: (signal) => broker.kill(signal),
    restart: () => broker.restart(),
  };
}
