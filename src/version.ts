import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The agent's version, from the package.json it was installed with: the checkout's, or
 * /usr/lib/ctop-agent/package.json in the Debian package (which names the package's
 * version). Found by walking up from this module, so it holds for src/ under tsx and dist/.
 */
export function agentVersion(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'ctop-agent' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // no package.json here: one level up
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      cached = '0.0.0-unknown';
      return cached;
    }
    dir = parent;
  }
}
