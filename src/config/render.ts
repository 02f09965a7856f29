import { stringify } from 'yaml';
import type { LoadedConfig } from './load.js';
import { formatPath } from './schema-walk.js';

/**
 * The configuration as the daemon will run it, defaults filled in and paths made
 * absolute, in the file's own format. Keys, certificates and the trust store appear as
 * their paths only: the configuration never holds a secret itself.
 */
export function renderConfig(loaded: LoadedConfig): string {
  const header = [`# resolved from ${loaded.file}`];
  for (const o of loaded.overrides) header.push(`# ${formatPath(o.path)} set by environment ${o.name}`);
  return `${header.join('\n')}\n${stringify(loaded.config, { nullStr: 'null', lineWidth: 0 })}`;
}
