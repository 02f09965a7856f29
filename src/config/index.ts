/**
 * The daemon's configuration: one YAML file (systemd/config.example.yaml documents every
 * key), CTOP_* environment overrides, validated with zod; every problem names the line or
 * variable, the key, the value and what was expected (docs/OPERATIONS.md).
 *
 * - `loadConfig(file, { env? })` / `parseConfig(text, name)` / `configFromObject(value)`
 *   → `{ config, file, overrides, locator }`; throws E_CONFIG_FILE | E_CONFIG_SYNTAX | E_CONFIG_INVALID
 * - `checkReferences(loaded)` / `loadReferences(loaded)`: the key, trust store, lock list
 *   and TLS files the configuration names (E_CONFIG_REFERENCE)
 * - `renderConfig(loaded)`: the resolved configuration as YAML (`ctop-agent config check`)
 */
export { applyEnvOverrides, ENV_PREFIX, type EnvOverride, parseEnvValue } from './env.js';
export { configFromObject, type LoadedConfig, type LoadOptions, loadConfig, parseConfig } from './load.js';
export { ConfigLocator } from './locate.js';
export {
  type ConfigReferences,
  checkReferences,
  loadGatewayKey,
  loadReferences,
  type ReferenceCheck,
  readProvisionedLocks,
} from './references.js';
export { renderConfig } from './render.js';
export { type AgentConfig, type AgentConfigInput, configSchema, LOG_LEVELS, ROLES } from './schema.js';
export { formatPath } from './schema-walk.js';
