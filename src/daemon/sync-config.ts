import type { AgentConfig } from '../config/index.js';
import type { SyncConfig } from '../sync/index.js';

/** The sync's options from the daemon's configuration (gateway identity + sync section). */
export function syncConfigOf(config: AgentConfig): SyncConfig {
  const { tls, exchangeAddress, clientId, ...tuning } = config.sync;
  return {
    country: config.gateway.country,
    checkpoint: config.gateway.checkpoint,
    gatewayId: config.gateway.id,
    ...tuning,
    ...(tls ? { tls } : {}),
    ...(exchangeAddress === undefined ? {} : { exchangeAddress }),
    ...(clientId === undefined ? {} : { clientId }),
  };
}
