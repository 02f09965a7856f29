import type { AgentConfig } from '../config/index.js';
import { loadGatewayKey } from '../config/index.js';
import type { CtopError } from '../errors.js';
import type { TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import type { SyncEngine } from '../sync/index.js';

/** Keys whose change needs a restart; SIGHUP applies log.level, locks.provisioned and gateway.key. */
export const RESTART_KEYS = [
  'role',
  'gateway',
  'trust',
  'store',
  'serial',
  'ble',
  'sync',
  'http',
  'console',
] as const;

/** What of a restart key counts as changed: gateway.key is rotated by SIGHUP, the rest of gateway is not. */
function restartPart(config: AgentConfig, key: (typeof RESTART_KEYS)[number]): unknown {
  return key === 'gateway' ? { ...config.gateway, key: undefined } : config[key];
}

/** The restart keys whose value differs between the running and the reloaded configuration. */
export function changedRestartKeys(next: AgentConfig, running: AgentConfig): string[] {
  return RESTART_KEYS.filter(
    (k) => JSON.stringify(restartPart(next, k)) !== JSON.stringify(restartPart(running, k)),
  );
}

/**
 * Gateway key rotation: the file gateway.key names now is read again; a new key takes
 * over the signing of everything sent from now on, queued and in-flight messages
 * included (their messageIds do not depend on the key). A file that is not an
 * owner-only key of this gateway is refused and the running key stays.
 */
export function rotateGatewayKey(
  sync: SyncEngine,
  file: string,
  gatewayId: string,
  log: Logger,
  problems: string[],
): void {
  try {
    const key = loadGatewayKey(file, gatewayId);
    if (key.kid === sync.gatewayKid) return;
    const { from, to } = sync.rotateGatewayKey(key);
    log.info({ from, to, file }, 'gateway key rotated: messages are signed with the new key from now on');
  } catch (err) {
    problems.push(`gateway key: ${(err as Error).message}`);
    log.error(
      { err: (err as Error).message, code: (err as CtopError).code, file, kid: sync.gatewayKid },
      'gateway key not reloaded: the previous key stays in force',
    );
  }
}

/** The trust store from its file again; false (the previous keys stay in force) when it cannot be used. */
export function reloadTrust(trust: TrustStore, log: Logger, problems: string[]): boolean {
  try {
    trust.reload();
    log.info({ keys: trust.size, file: trust.file }, 'trust store reloaded');
    return true;
  } catch (err) {
    problems.push(`trust store: ${(err as Error).message}`);
    log.error(
      { err: (err as Error).message, code: (err as CtopError).code },
      'trust store not reloaded: the previous keys stay in force',
    );
    return false;
  }
}
