/**
 * The compiled form of a program of this tree that tests start as a process: the CLI as the
 * package ships it and `npm start` runs it, the reference exchange, and the fixtures that
 * tests SIGKILL by the dozen (tsconfig.build.json lists them). tap's `before` step
 * (test/helpers/build-program.ts) compiles them into dist/ before every run, so no test
 * starts a stale build. Started from source through tsx, each start cost about twice the CPU
 * (the module graph loaded through tsx's hooks), and the suite starts such processes
 * several hundred times.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `source` (relative to the repository, e.g. `src/cli/main.ts`) as compiled into dist/. */
export function built(source: string): string {
  return path.join(ROOT, 'dist', source.replace(/\.ts$/, '.js'));
}
