import { X509Certificate } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CtopError, isCtopError } from '../errors.js';
import { kidBelongsTo } from '../exchange-wire/address.js';
import { loadPrivateKey, type PrivateKey, TrustStore } from '../keys/index.js';
import type { ProvisionedLock } from '../store/index.js';
import { loadBrokerPassword } from '../sync/credentials.js';
import type { LoadedConfig } from './load.js';
import type { AgentConfig } from './schema.js';
import { formatPath } from './schema-walk.js';

/** What the files a configuration names hold, loaded and checked. */
export interface ConfigReferences {
  gatewayKey: PrivateKey;
  trust: TrustStore;
  /** From locks.provisioned; empty when none is configured. */
  provisioned: ProvisionedLock[];
  /** The officers' console, when console.listen is set. */
  console?: ConsoleReferences;
}

export interface ConsoleReferences {
  recipientKeys: PrivateKey[];
  https?: { key: Buffer; cert: Buffer };
}

/**
 * Checks of parts of the configuration that belong to modules the configuration does not
 * import: the caller (the daemon, `config check`) hands them in.
 */
export interface ReferenceCheckers {
  /** Throws when an officer account cannot be used (the console's loadOfficers). */
  officers?: (accounts: AgentConfig['console']['officers']) => unknown;
}

export interface ReferenceCheck {
  /** Located problems; the daemon does not start while there is one. */
  problems: string[];
  /** Located remarks that do not stop the daemon. */
  warnings: string[];
  references?: ConfigReferences;
}

const LOCK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Reads a lock list: `[{ lockId, identityKey }]` in YAML or JSON, keys as 64 hex digits. */
export function readProvisionedLocks(file: string): ProvisionedLock[] {
  let doc: unknown;
  try {
    if (statSync(file).size > 64 * 1024 * 1024) throw new Error('larger than 64 MiB');
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CtopError('E_CONFIG_REFERENCE', `cannot read lock list ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const list = Array.isArray(doc) ? doc : (doc as { locks?: unknown } | null)?.locks;
  if (!Array.isArray(list)) {
    throw new CtopError('E_CONFIG_REFERENCE', `${file}: expected a list of { lockId, identityKey }`);
  }
  return list.map((entry, i) => {
    const e = (entry ?? {}) as { lockId?: unknown; identityKey?: unknown };
    if (typeof e.lockId !== 'string' || !LOCK_ID.test(e.lockId)) {
      throw new CtopError('E_CONFIG_REFERENCE', `${file}: entry ${i}: lockId must be a lock id`);
    }
    if (typeof e.identityKey !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.identityKey)) {
      throw new CtopError(
        'E_CONFIG_REFERENCE',
        `${file}: entry ${i} (${e.lockId}): identityKey must be 32 bytes as 64 hex digits`,
      );
    }
    return { lockId: e.lockId, identityKey: new Uint8Array(Buffer.from(e.identityKey, 'hex')) };
  });
}

/**
 * The gateway's private key: owner-only file (E_KEY_PERMISSIONS), role gateway and a kid
 * naming this gateway (E_KEY_ROLE) — at start and when a SIGHUP rotates it.
 */
export function loadGatewayKey(file: string, gatewayId: string): PrivateKey {
  const key = loadPrivateKey(file);
  if (key.role !== 'gateway') {
    throw new CtopError('E_KEY_ROLE', `${file} is a ${key.role} key (expected a gateway key)`);
  }
  if (!kidBelongsTo(key.kid, gatewayId)) {
    throw new CtopError(
      'E_KEY_ROLE',
      `key ${key.kid} does not belong to gateway ${gatewayId} (expected kid "${gatewayId}" or "${gatewayId}.<suffix>")`,
    );
  }
  return key;
}

/**
 * Opens every file the configuration names (gateway key, trust store, lock list, TLS
 * files) and checks what can be checked before start: the key's role and mode, that it
 * belongs to the gateway id, that the trust store holds an exchange key for receipts.
 * Each problem names the configuration line of the key.
 */
export function checkReferences(loaded: LoadedConfig, checkers: ReferenceCheckers = {}): ReferenceCheck {
  const { config, locator } = loaded;
  const problems: string[] = [];
  const warnings: string[] = [];
  const at = (keyPath: (string | number)[], message: string) =>
    `${locator.locate(keyPath)}: ${formatPath(keyPath)}: ${message}`;
  const attempt = <T>(keyPath: (string | number)[], load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      const code = isCtopError(err) ? `${err.code}: ` : '';
      problems.push(at(keyPath, `${code}${(err as Error).message}`));
      return undefined;
    }
  };

  const gatewayKey = attempt(['gateway', 'key'], () => loadGatewayKey(config.gateway.key, config.gateway.id));

  const trust = attempt(['trust', 'store'], () => {
    const store = TrustStore.load(config.trust.store);
    if (!store.list().some((k) => k.role === 'exchange')) {
      throw new CtopError(
        'E_TRUST_STORE',
        `${config.trust.store} holds no exchange key (expected the key the exchange signs receipts with: without it nothing is ever acknowledged)`,
      );
    }
    if (!store.list().some((k) => k.role === 'signer')) {
      warnings.push(
        at(['trust', 'store'], 'holds no customs signer key: every manifest read will be unknown_signer'),
      );
    }
    return store;
  });

  const provisioned =
    config.locks.provisioned === null
      ? []
      : attempt(['locks', 'provisioned'], () => readProvisionedLocks(config.locks.provisioned!));

  let consoleRefs: ConsoleReferences | undefined;
  if (config.console.listen !== null) {
    const checkOfficers = checkers.officers;
    if (checkOfficers) attempt(['console', 'officers'], () => checkOfficers(config.console.officers));
    const recipientKeys = config.console.recipientKeys.map((file, i) =>
      attempt(['console', 'recipientKeys', i], () => {
        const key = loadPrivateKey(file);
        if (key.role !== 'recipient') {
          throw new CtopError(
            'E_KEY_ROLE',
            `${file} is a ${key.role} key (expected a customs recipient key)`,
          );
        }
        return key;
      }),
    );
    const https = config.console.https;
    const cert = https
      ? attempt(['console', 'https', 'certFile'], () => readFileSync(https.certFile))
      : undefined;
    const key = https
      ? attempt(['console', 'https', 'keyFile'], () => readFileSync(https.keyFile))
      : undefined;
    consoleRefs = {
      recipientKeys: recipientKeys.filter((k): k is PrivateKey => k !== undefined),
      ...(cert && key ? { https: { cert, key } } : {}),
    };
    if (config.console.recipientKeys.length === 0) {
      warnings.push(at(['console', 'recipientKeys'], 'none: no officer can see the goods of a manifest'));
    }
  }

  const tls = config.sync.tls;
  let cn: string | undefined;
  if (tls) {
    for (const key of ['caFile', 'keyFile'] as const) {
      const file = tls[key];
      if (file !== undefined) attempt(['sync', 'tls', key], () => accessSync(file, constants.R_OK));
    }
    const certFile = tls.certFile;
    cn =
      certFile === undefined
        ? undefined
        : attempt(['sync', 'tls', 'certFile'], () => certificateCn(certFile));
  }
  for (const [keyPath, warning] of identityWarnings(config, cn)) warnings.push(at(keyPath, warning));
  const passwordFile = config.sync.passwordFile;
  if (passwordFile !== undefined)
    attempt(['sync', 'passwordFile'], () => loadBrokerPassword(passwordFile).fill(0));

  const storeDir = path.dirname(config.store.path);
  if (!existsSync(storeDir)) {
    warnings.push(
      at(
        ['store', 'path'],
        `directory ${storeDir} does not exist yet (systemd's StateDirectory= creates it)`,
      ),
    );
  }
  if (config.role === 'checkpoint' && config.serial.ports.length === 0 && !config.ble.enabled) {
    warnings.push(
      at(['serial', 'ports'], 'no serial ports and BLE disabled: this checkpoint reads no locks'),
    );
  }
  const bleOpenMs = config.ble.connectTimeoutMs + config.ble.gattTimeoutMs;
  if (config.ble.enabled && bleOpenMs > config.serial.readDeadlineMs) {
    warnings.push(
      at(
        ['ble', 'connectTimeoutMs'],
        `connect and GATT timeouts (${bleOpenMs} ms) exceed serial.readDeadlineMs (${config.serial.readDeadlineMs}): a BLE read gives up at the deadline before they fire`,
      ),
    );
  }
  if (!config.locks.trustOnFirstUse && config.locks.provisioned === null) {
    warnings.push(
      at(
        ['locks'],
        'no provisioned lock list and trustOnFirstUse false: every lock is unknown_lock until provisioned',
      ),
    );
  }

  if (problems.length > 0 || !gatewayKey || !trust || !provisioned) return { problems, warnings };
  return {
    problems,
    warnings,
    references: { gatewayKey, trust, provisioned, ...(consoleRefs ? { console: consoleRefs } : {}) },
  };
}

/** The CN of a PEM certificate's subject; '' when it has none. */
export function certificateCn(file: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(file));
  } catch (err) {
    throw new CtopError(
      'E_SYNC_CONFIG',
      `${file} is not a readable PEM certificate: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const cn = cert.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .at(-1);
  return cn === undefined ? '' : cn.slice(3);
}

/**
 * How the MQTT identity must relate to the gateway (EXCHANGE.md §2.5), as warnings: the
 * broker ACL confines a gateway to its subtree by the certificate's CN or the user name
 * (both = gateway.id), and brokers that take the identity from the certificate tie it to
 * the user name, or to the client id when no user name is given (ejabberd). Mosquitto with
 * `use_identity_as_username` needs only the first. `cn` is undefined without a client
 * certificate.
 */
export function identityWarnings(
  config: AgentConfig,
  cn: string | undefined,
): [(string | number)[], string][] {
  const out: [(string | number)[], string][] = [];
  const id = config.gateway.id;
  const { username } = config.sync;
  const certPath = ['sync', 'tls', 'certFile'];
  const acl = (name: string) =>
    `a broker ACL that confines each gateway to ctop/v1/+/+/<its name>/… (EXCHANGE.md §2.3) confines this one to ctop/v1/+/+/${name}/…`;
  if (cn !== undefined && cn !== id) {
    out.push([certPath, `the certificate's CN "${cn}" is not gateway.id "${id}": ${acl(cn)}`]);
  }
  if (username !== undefined && username !== id && username !== cn) {
    out.push([['sync', 'username'], `"${username}" is not gateway.id "${id}": ${acl(username)}`]);
  }
  const clientId = config.sync.clientId ?? id;
  if (cn !== undefined && cn !== (username ?? clientId)) {
    const who = username === undefined ? `the client id "${clientId}"` : `the user name "${username}"`;
    out.push([
      username === undefined
        ? config.sync.clientId === undefined
          ? certPath
          : ['sync', 'clientId']
        : ['sync', 'username'],
      `${who} is not the certificate's CN "${cn}": a broker that binds the certificate to the user name, or to the client id when there is no user name (ejabberd), refuses the connection (CONNACK 135, not authorized); make them equal (sync.clientId defaults to gateway.id)`,
    ]);
  }
  return out;
}

/** checkReferences, throwing E_CONFIG_REFERENCE with every problem when there is one. */
export function loadReferences(
  loaded: LoadedConfig,
  checkers: ReferenceCheckers = {},
): ConfigReferences & { warnings: string[] } {
  const check = checkReferences(loaded, checkers);
  if (!check.references) {
    throw new CtopError(
      'E_CONFIG_REFERENCE',
      `${check.problems.length === 1 ? 'a file' : `${check.problems.length} files`} named in ${loaded.file} cannot be used:\n${check.problems.join('\n')}`,
      { details: { problems: check.problems } },
    );
  }
  return { ...check.references, warnings: check.warnings };
}
