import { z } from 'zod';
import {
  ADDRESS_PATTERN,
  CHECKPOINT_PATTERN,
  COUNTRY_PATTERN,
  GATEWAY_ID_PATTERN,
} from '../exchange-wire/address.js';

/**
 * The daemon's configuration (docs/OPERATIONS.md, systemd/config.example.yaml): one YAML
 * file, every key with its default here. Each leaf carries a description that is a noun
 * phrase ("an integer from 1 to 65535"): error messages read "<value> is not <description>".
 * Durations and sizes carry their unit in the key name, as the sync's options do.
 */

const int = (min: number, max: number, what = `an integer from ${min} to ${max}`) =>
  z.number().int().min(min).max(max).describe(what);

const text = (pattern: RegExp, what: string) => z.string().regex(pattern).describe(what);

/** An absolute or relative file path; never the file's content. */
const filePath = (what: string) => z.string().min(1).max(4096).describe(what);

/** `host:port` for a TCP listener; IPv6 hosts in brackets. */
const LISTEN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export const MQTT_URL = /^(mqtts?|tcp|tls|ssl):\/\/[^/\s:]+(:\d{1,5})?\/?$/;
export const MQTT_TLS_URL = /^(mqtts|tls|ssl):/;

export const ROLES = ['checkpoint', 'loading'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const gateway = z
  .strictObject({
    id: text(GATEWAY_ID_PATTERN, 'a gateway id (1–64 of A–Z a–z 0–9 . _ -, e.g. KZ-DOSTYK-GW01)'),
    country: text(COUNTRY_PATTERN, 'an ISO 3166-1 alpha-2 country code such as KZ'),
    checkpoint: text(CHECKPOINT_PATTERN, 'a checkpoint name (A–Z 0–9 _ -, e.g. DOSTYK)'),
    key: filePath("the path of the gateway's private key file (role gateway, mode 0600)"),
  })
  .describe('the gateway section (id, country, checkpoint, key)');

const trust = z
  .strictObject({
    store: filePath('the path of the trust store file (customs signer keys, the exchange key)'),
  })
  .describe('the trust section (store)');

const locks = z
  .strictObject({
    trustOnFirstUse: z
      .boolean()
      .default(false)
      .describe('true or false (pin the key of a never-seen lock on its first proven read)'),
    provisioned: filePath('the path of a YAML or JSON list of { lockId, identityKey } (hex)')
      .nullable()
      .default(null),
  })
  .prefault({});

const store = z
  .strictObject({
    path: filePath('the path of the SQLite database (created 0600)').default(
      '/var/lib/ctop-agent/ctop-agent.db',
    ),
    minFreeMiB: int(1, 1_048_576).default(64),
    reservePages: int(16, 1_000_000).default(1024),
    spaceCheckSeconds: int(1, 86_400).default(60),
  })
  .prefault({});

const retention = z
  .strictObject({
    payloadDays: int(0, 36_500).default(90),
    traceabilityDays: int(1, 36_500).default(1827),
    intervalHours: int(1, 8760).default(24),
    firstRunMinutes: int(0, 10_080).default(10),
  })
  .prefault({});

const serial = z
  .strictObject({
    ports: z
      .array(filePath('a device path or glob such as /dev/serial/by-id/usb-*'))
      .max(64)
      .default([])
      .describe('a list of device paths or globs'),
    baudRate: int(300, 4_000_000).default(115200),
    scanIntervalMs: int(100, 600_000).default(2000),
    probeIntervalMs: int(200, 3_600_000).default(5000),
    readAttempts: int(1, 100).default(6),
    window: int(1, 64).default(8),
    chunk: int(16, 4096).default(1024),
    maxManifestKiB: int(1, 16_384).default(256),
    // PROTOCOL.md §10: at most 30 s. Also the BLE reads' deadline, as window and chunk are.
    readDeadlineMs: int(1000, 30_000).default(15_000),
  })
  .prefault({});

const bleUart = z
  .strictObject({
    port: filePath('the serial device of an HCI-over-UART controller'),
    baudRate: int(9600, 4_000_000).default(1_000_000),
  })
  .describe('a serial HCI controller { port, baudRate }');

const ble = z
  .strictObject({
    enabled: z.boolean().default(false).describe('true or false'),
    hciDevice: int(0, 15, 'an HCI device index (0 for hci0)').default(0),
    uart: bleUart.nullable().default(null),
    maxConcurrent: int(1, 16).default(4),
    connectTimeoutMs: int(100, 120_000).default(10_000),
    gattTimeoutMs: int(100, 120_000).default(5000),
  })
  .prefault({});

const tls = z
  .strictObject({
    caFile: filePath('the path of the CA certificate(s) the broker must chain to (PEM)'),
    certFile: filePath("the path of the gateway's client certificate (PEM)").optional(),
    keyFile: filePath("the path of the client certificate's private key (PEM)").optional(),
    servername: z.string().min(1).max(253).describe('a host name').optional(),
  })
  .describe('the TLS section { caFile, certFile, keyFile, servername }');

const sync = z
  .strictObject({
    brokers: z
      .array(text(MQTT_URL, 'an MQTT URL (expected mqtt://host:port or mqtts://host:port)'))
      .min(1)
      .max(16)
      .describe('a list of 1 to 16 broker URLs'),
    tls: tls.nullable().default(null),
    exchangeAddress: text(ADDRESS_PATTERN, 'an exchange address like CTOP://KZ/EXCHANGE').optional(),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(5)
      .describe('5 (MQTT 5) or 4 (MQTT 3.1.1)'),
    envelopeVersion: z
      .enum(['1.2', '1.1'])
      .default('1.2')
      .describe('"1.2" (each message signed once) or "1.1" (for an exchange built to EXCHANGE.md 1.1)'),
    clientId: text(/^[A-Za-z0-9._-]{1,64}$/, 'an MQTT client id (1–64 of A–Z a–z 0–9 . _ -)').optional(),
    username: text(
      /^[^\p{Cc}]{1,256}$/u,
      'an MQTT user name (1–256 characters, no control characters)',
    ).optional(),
    passwordFile: filePath(
      'the path of the file holding the broker password (mode 0600; never the password itself)',
    ).optional(),
    keepaliveSeconds: int(1, 65_535).default(30),
    connectTimeoutMs: int(100, 600_000).default(10_000),
    reconnectDelayMs: int(10, 600_000).default(1000),
    sessionExpirySeconds: int(0, 0xffff_ffff).default(7 * 86_400),
    receiptTimeoutMs: int(100, 3_600_000).default(30_000),
    maxInFlight: int(1, 65_535).default(1024),
    maxInFlightBytes: int(65_536, 1 << 30).default(8 * 1024 * 1024),
    claimBatch: int(1, 10_000).default(256),
    pollIntervalMs: int(10, 600_000).default(1000),
    outageGraceMs: int(0, 3_600_000).default(5000),
    stopTimeoutMs: int(0, 600_000).default(2000),
    queryTimeoutMs: int(100, 600_000).default(10_000),
  })
  .describe('the sync section (brokers, tls, …)');

const http = z
  .strictObject({
    listen: text(LISTEN, 'a host:port to listen on, such as 127.0.0.1:9464')
      .nullable()
      .default('127.0.0.1:9464'),
  })
  .prefault({});

const officer = z
  .strictObject({
    user: text(/^[a-z][a-z0-9._-]{0,63}$/, 'a login name (1–64 of a-z 0-9 . _ -, starting with a letter)'),
    name: z.string().min(1).max(120).describe('a name shown on the page').optional(),
    roles: z
      .array(z.enum(['customs', 'viewer']).describe('customs or viewer'))
      .min(1)
      .describe('a list of roles: customs (may decrypt goods), viewer'),
    passwordHash: text(/^\$scrypt\$/, 'a hash from `ctop-agent console hash-password` ($scrypt$…)'),
  })
  .describe('an officer { user, name, roles, passwordHash }');

const consoleSection = z
  .strictObject({
    listen: text(LISTEN, 'a host:port to listen on, such as 127.0.0.1:8080').nullable().default(null),
    officers: z.array(officer).max(1000).default([]).describe('a list of officer accounts'),
    recipientKeys: z
      .array(filePath('the path of a customs recipient private key (mode 0600)'))
      .max(16)
      .default([])
      .describe('a list of customs recipient key paths'),
    https: z
      .strictObject({
        certFile: filePath('the path of the console certificate (PEM)'),
        keyFile: filePath("the path of the certificate's private key (PEM)"),
      })
      .describe('the HTTPS section { certFile, keyFile }')
      .nullable()
      .default(null),
    site: z.string().min(1).max(120).describe('a name for the page header').nullable().default(null),
  })
  .prefault({});

const log = z
  .strictObject({
    level: z
      .enum(LOG_LEVELS)
      .default('info')
      .describe(`one of ${LOG_LEVELS.join(', ')}`),
    format: z
      .enum(['auto', 'json', 'pretty'])
      .default('auto')
      .describe('auto (pretty on a terminal, JSON otherwise), json or pretty'),
  })
  .prefault({});

const shutdown = z
  .strictObject({
    readGraceMs: int(0, 600_000).default(5000),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    role: z.enum(ROLES).default('checkpoint').describe('checkpoint or loading'),
    gateway,
    trust,
    locks,
    store,
    retention,
    serial,
    ble,
    sync,
    http,
    console: consoleSection,
    log,
    shutdown,
  })
  .superRefine((c, ctx) => {
    const tlsBrokers = c.sync.brokers.filter((url) => MQTT_TLS_URL.test(url));
    if (tlsBrokers.length > 0 && !c.sync.tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'tls'],
        input: null,
        message: `missing (expected tls.caFile, certFile and keyFile: broker ${tlsBrokers[0]} uses TLS)`,
      });
    }
    if (c.sync.tls && (c.sync.tls.certFile === undefined) !== (c.sync.tls.keyFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'tls', c.sync.tls.certFile === undefined ? 'certFile' : 'keyFile'],
        input: undefined,
        message: 'missing (expected certFile and keyFile together)',
      });
    }
    if (c.sync.passwordFile !== undefined && c.sync.username === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'username'],
        input: undefined,
        message: 'missing (expected a user name with sync.passwordFile: a password alone is no login)',
      });
    }
    if (c.retention.traceabilityDays < c.retention.payloadDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['retention', 'traceabilityDays'],
        input: c.retention.traceabilityDays,
        message: `${c.retention.traceabilityDays} is below retention.payloadDays ${c.retention.payloadDays} (expected at least as many days)`,
      });
    }
    if (c.console.listen !== null && c.console.officers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['console', 'officers'],
        input: [],
        message: '[] is not allowed with console.listen set (expected at least one officer account)',
      });
    }
    if (c.role === 'loading') {
      // The pairing CLI (`ctop-agent pair`) owns the devices at a loading yard.
      if (c.serial.ports.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['serial', 'ports'],
          input: c.serial.ports,
          message: `${JSON.stringify(c.serial.ports)} is not allowed in role loading (expected []: \`ctop-agent pair\` opens the ports)`,
        });
      }
      if (c.ble.enabled) {
        ctx.addIssue({
          code: 'custom',
          path: ['ble', 'enabled'],
          input: true,
          message: 'true is not allowed in role loading (expected false: `ctop-agent pair` uses the radio)',
        });
      }
    }
  });

export type AgentConfig = z.output<typeof configSchema>;
export type AgentConfigInput = z.input<typeof configSchema>;
