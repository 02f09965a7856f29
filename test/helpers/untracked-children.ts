/**
 * Loaded into every test process (package.json "tap"."node-arg"): the processes a test starts
 * are not tracked by tap. tap's runner loads @tapjs/processinfo into each test process, and
 * it follows every descendant (a module hook in each, through NODE_OPTIONS, re-added at every
 * spawn) to serve `tap --changed` and tap's own coverage. This suite uses neither — c8
 * measures coverage through NODE_V8_COVERAGE, which children still inherit — and the
 * tracking more than doubled the CPU of each process the tests start (a CLI start: 0.65 s
 * of CPU untracked, 1.45 s tracked), several hundred of them per run. The test process
 * itself stays tracked. Where tap's internals differ from what this expects, it does nothing.
 */
const PROCESSINFO_IMPORT = /"?--import=[^"\s]*@tapjs\/processinfo\/[^"\s]*"?/g;

// process-on-spawn (processinfo's spawn hook) keeps its listeners in this global singleton.
const spawnHooks = (globalThis as Record<symbol, { listeners?: unknown[] } | undefined>)[
  Symbol.for('process-on-spawn@*:singletonId')
];
if (Array.isArray(spawnHooks?.listeners) && process.env.NODE_OPTIONS?.match(PROCESSINFO_IMPORT)) {
  spawnHooks.listeners.length = 0;
  const rest = process.env.NODE_OPTIONS.replace(PROCESSINFO_IMPORT, '').trim();
  if (rest) process.env.NODE_OPTIONS = rest;
  else delete process.env.NODE_OPTIONS;
}
