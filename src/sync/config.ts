import { readFileSync } from 'node:fs';
import { CtopError } from '../errors.js';
import {
  ADDRESS_PATTERN,
  checkIdentity,
  defaultExchangeAddress,
  type GatewayIdentity,
  gatewayAddress,
  gatewayTopic,
} from '../exchange-wire/index.js';

/** Files for a TLS connection to the broker; PEM, read once at start. */
export interface TlsFiles {
  /** CA certificate(s) the broker's certificate must chain to. */
  caFile: string;
  /** The gateway's client certificate (its CN is the gateway id the broker ACL confines). */
  certFile?: string;
  keyFile?: string;
  /** Server name to verify, when the broker URL names it by IP address. */
  servername?: string;
}

export interface SyncConfig extends GatewayIdentity {
  /** Broker URLs tried in turn: `mqtt://host:1883`, `mqtts://host:8883`. */
  brokers: string[];
  /** Required for mqtts:// brokers. */
  tls?: TlsFiles;
  /** The exchange's address; default `CTOP://{country}/EXCHANGE`. */
  exchangeAddress?: string;
  /** 5 (default) or 4 for MQTT 3.1.1 brokers (aedes); the guarantees are the same. */
  protocolVersion?: 4 | 5;
  /**
   * The envelope's version (EXCHANGE.md §3): '1.2' (default) signs each message once, when
   * its row is made, and puts `sentAt` and `attempt` in the unprotected header; '1.1' signs
   * every copy with them in the body, for an exchange built to version 1.1.
   */
  envelopeVersion?: EnvelopeVersion;
  /**
   * Default the gateway id: one persistent session per gateway, and the name its client
   * certificate carries (CN), which brokers that bind a certificate to the client id
   * (ejabberd) require. Earlier versions used `ctop-{gatewayId}` (docs/OPERATIONS.md, upgrading).
   */
  clientId?: string;
  /** User name for a broker with password login (or one that takes the identity from it). */
  username?: string;
  /** File holding the broker password, mode 0600; needs `username`. */
  passwordFile?: string;
  /** MQTT keepalive; a half-open link is noticed after 1.5× this. Default 30 s. */
  keepaliveSeconds?: number;
  /** CONNACK must arrive within this. Default 10 s. */
  connectTimeoutMs?: number;
  /** Pause before another round over the broker list, jittered ±50 %. Default 1 s. */
  reconnectDelayMs?: number;
  /** MQTT 5 session expiry: how long the broker keeps receipts for a gateway that is away. Default 7 days. */
  sessionExpirySeconds?: number;
  /** No receipt within this → resend (same messageId) after the store's backoff. Default 30 s. */
  receiptTimeoutMs?: number;
  /** Most messages sent and not yet answered by a receipt. Default 1024. */
  maxInFlight?: number;
  /**
   * Most bytes of envelopes sent and not yet answered. Within it, what may be out follows
   * what receipts answered in the last quarter of receiptTimeoutMs (at least 256 KiB), so a
   * slow uplink is not handed more than it carries before the receipts are due. Default 8 MiB.
   */
  maxInFlightBytes?: number;
  /** Outbox rows claimed per store transaction. Default 256. */
  claimBatch?: number;
  /** How often to look for rows other processes added. Default 1 s. */
  pollIntervalMs?: number;
  /** A broken path shorter than this is a blip, not an outage. Default 5 s. */
  outageGraceMs?: number;
  /** Connected, messages waiting, no receipt for this long → an outage (cause no_receipts). Default 2 × receiptTimeoutMs. */
  noReceiptOutageMs?: number;
  /** stop() waits this long for receipts of what is in flight. Default 2 s. */
  stopTimeoutMs?: number;
  /** A query without an answer fails after this. Default 10 s. */
  queryTimeoutMs?: number;
}

export type ResolvedSyncConfig = Required<Omit<SyncConfig, 'tls' | 'username' | 'passwordFile'>> & {
  tls?: TlsFiles;
  username?: string;
  passwordFile?: string;
  /** `CTOP://{country}/{checkpoint}/{gatewayId}`. */
  address: string;
  topics: {
    receipt: string;
    queryResult: string;
    query: string;
    status: string;
  };
};

/** MQTT user names are UTF-8 strings; control characters would only ever be a paste accident. */
export const USERNAME = /^[^\p{Cc}]{1,256}$/u;

const BROKER_URL = /^(mqtts?|tcp|tls|ssl):\/\/[^/\s]+(:\d{1,5})?\/?$/;

function positive(name: string, value: number, min = 1, max = 2_147_483_647): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CtopError('E_SYNC_CONFIG', `${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Validates a configuration and fills in the defaults. */
export type EnvelopeVersion = '1.1' | '1.2';

export function resolveSyncConfig(config: SyncConfig): ResolvedSyncConfig {
  const id = checkIdentity(config);
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) {
    throw new CtopError('E_SYNC_CONFIG', 'brokers must list at least one broker URL');
  }
  for (const url of config.brokers) {
    if (!BROKER_URL.test(url)) {
      throw new CtopError(
        'E_SYNC_CONFIG',
        `broker "${url}" must be a URL like mqtt://host:1883 or mqtts://host:8883`,
      );
    }
    if (/^(mqtts|tls|ssl):/.test(url) && !config.tls) {
      throw new CtopError(
        'E_SYNC_CONFIG',
        `broker ${url} uses TLS: tls.caFile (and the client certificate) must be set`,
      );
    }
  }
  const protocolVersion = config.protocolVersion ?? 5;
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw new CtopError(
      'E_SYNC_CONFIG',
      `protocolVersion must be 5 (MQTT 5) or 4 (MQTT 3.1.1), got ${protocolVersion}`,
    );
  }
  const envelopeVersion = config.envelopeVersion ?? '1.2';
  if (envelopeVersion !== '1.1' && envelopeVersion !== '1.2') {
    throw new CtopError(
      'E_SYNC_CONFIG',
      `envelopeVersion must be "1.2" or "1.1", got ${String(envelopeVersion)}`,
    );
  }
  const exchangeAddress = config.exchangeAddress ?? defaultExchangeAddress(id.country);
  if (!ADDRESS_PATTERN.test(exchangeAddress)) {
    throw new CtopError(
      'E_SYNC_CONFIG',
      `exchangeAddress "${exchangeAddress}" must look like CTOP://KZ/EXCHANGE`,
    );
  }
  const clientId = config.clientId ?? id.gatewayId;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(clientId)) {
    throw new CtopError('E_SYNC_CONFIG', `clientId "${clientId}" must be 1-64 of A-Z a-z 0-9 . _ -`);
  }
  if (config.username !== undefined && !USERNAME.test(config.username)) {
    throw new CtopError('E_SYNC_CONFIG', 'username must be 1-256 characters without control characters');
  }
  if (config.passwordFile !== undefined && config.username === undefined) {
    // MQTT 3.1.1 §3.1.2.9: no password without a user name.
    throw new CtopError('E_SYNC_CONFIG', 'passwordFile needs username (a password alone is no login)');
  }
  if (config.passwordFile === '') throw new CtopError('E_SYNC_CONFIG', 'passwordFile must name a file');
  const receiptTimeoutMs = positive('receiptTimeoutMs', config.receiptTimeoutMs ?? 30_000, 100);
  if (config.tls) {
    if (!config.tls.caFile) throw new CtopError('E_SYNC_CONFIG', 'tls.caFile is required');
    if ((config.tls.certFile === undefined) !== (config.tls.keyFile === undefined)) {
      throw new CtopError('E_SYNC_CONFIG', 'tls.certFile and tls.keyFile go together');
    }
  }
  return {
    country: id.country,
    checkpoint: id.checkpoint,
    gatewayId: id.gatewayId,
    brokers: [...config.brokers],
    ...(config.tls ? { tls: { ...config.tls } } : {}),
    exchangeAddress,
    protocolVersion,
    envelopeVersion,
    clientId,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.passwordFile === undefined ? {} : { passwordFile: config.passwordFile }),
    keepaliveSeconds: positive('keepaliveSeconds', config.keepaliveSeconds ?? 30, 1, 65_535),
    connectTimeoutMs: positive('connectTimeoutMs', config.connectTimeoutMs ?? 10_000, 100),
    reconnectDelayMs: positive('reconnectDelayMs', config.reconnectDelayMs ?? 1000, 10),
    sessionExpirySeconds: positive(
      'sessionExpirySeconds',
      config.sessionExpirySeconds ?? 7 * 86_400,
      0,
      0xffff_ffff,
    ),
    receiptTimeoutMs,
    maxInFlight: positive('maxInFlight', config.maxInFlight ?? 1024, 1, 65_535),
    maxInFlightBytes: positive(
      'maxInFlightBytes',
      config.maxInFlightBytes ?? 8 * 1024 * 1024,
      65_536,
      1 << 30,
    ),
    claimBatch: positive('claimBatch', config.claimBatch ?? 256, 1, 10_000),
    pollIntervalMs: positive('pollIntervalMs', config.pollIntervalMs ?? 1000, 10),
    outageGraceMs: positive('outageGraceMs', config.outageGraceMs ?? 5000, 0),
    noReceiptOutageMs: positive('noReceiptOutageMs', config.noReceiptOutageMs ?? 2 * receiptTimeoutMs, 100),
    stopTimeoutMs: positive('stopTimeoutMs', config.stopTimeoutMs ?? 2000, 0),
    queryTimeoutMs: positive('queryTimeoutMs', config.queryTimeoutMs ?? 10_000, 100),
    address: gatewayAddress(id),
    topics: {
      receipt: gatewayTopic(id, 'receipt'),
      queryResult: gatewayTopic(id, 'query-result'),
      query: gatewayTopic(id, 'query'),
      status: gatewayTopic(id, 'status'),
    },
  };
}

export interface TlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

/** Reads the TLS files; E_SYNC_CONFIG names the one that cannot be read. */
export function loadTlsFiles(
  tls: TlsFiles,
  code: 'E_SYNC_CONFIG' | 'E_EXCHANGE_CONFIG' = 'E_SYNC_CONFIG',
): TlsMaterial {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CtopError(code, `cannot read the TLS ${what} ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  return {
    ca: read('CA file', tls.caFile),
    ...(tls.certFile ? { cert: read('certificate', tls.certFile) } : {}),
    ...(tls.keyFile ? { key: read('key', tls.keyFile) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}
