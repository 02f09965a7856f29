/**
 * Loaded into every test process (package.json "tap"."node-arg"): replays a fast-check
 * failure. A failing property prints `{ seed: …, path: "…" }`; run the one test again with
 *   FC_SEED=<seed> FC_PATH=<path> npx tap test/x.test.ts --grep '<its name>'
 * Properties that pass their own seed keep it: those are fixed already.
 */
import fc from 'fast-check';

const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  fc.configureGlobal({
    seed: Number(seed),
    ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
    endOnFailure: true,
  });
}
