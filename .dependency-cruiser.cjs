/**
 * The layers of src/ (docs/ARCHITECTURE.md), kept by `npm run lint`: each rule names an
 * import that would cross a layer the wrong way. test/architecture.test.ts proves that
 * each rule fires on an import that breaks it.
 */
const { existsSync } = require('node:fs');

/** Where the simulators, the demo and the reference exchange may be imported from. */
const DOUBLES_ALLOWED_FROM = [
  '^src/(sim|demo|reference-exchange)/',
  '^src/cli/commands/(lock-sim|ble-sim|demo)\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'transport-not-to-codec-or-session',
      comment: 'Transports move bytes: they never import the codec, the session or anything above them in src/lock/.',
      severity: 'error',
      from: { path: '^src/lock/transport/' },
      to: { path: '^src/lock/', pathNot: '^src/lock/transport/' },
    },
    {
      name: 'codec-pure',
      comment: 'The codec is pure: nothing of ours but the bytes helpers (src/bytes.ts, src/cbor/) and the errors.',
      severity: 'error',
      from: { path: '^src/lock/codec/' },
      to: { path: '^src/', pathNot: ['^src/lock/codec/', '^src/(bytes|errors)\\.ts$', '^src/cbor/'] },
    },
    {
      name: 'manifest-not-to-store-or-sync',
      comment: 'The manifest module inspects bytes; it never stores or sends them.',
      severity: 'error',
      from: { path: '^src/manifest/' },
      to: { path: '^src/(store|sync)/' },
    },
    {
      name: 'store-not-to-sync-lock-or-ingest',
      comment: 'The store writes what it is handed: it knows nothing of the lock layer, the verdict or the sync.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(sync|lock|ingest)/' },
    },
    {
      name: 'session-not-to-store-sync-or-ingest',
      comment: 'The lock layer (sessions, reader) reads locks; what becomes of a read is decided above it.',
      severity: 'error',
      from: { path: '^src/lock/' },
      to: { path: '^src/(store|sync|ingest)/' },
    },
    {
      name: 'no-doubles-in-production',
      comment:
        'Production code never imports the simulators, the demo or the reference exchange (the lock-sim, ble-sim and demo commands excepted).',
      severity: 'error',
      from: { path: '^src/', pathNot: DOUBLES_ALLOWED_FROM },
      to: { path: '^src/(sim|demo|reference-exchange)/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles in src/: a cycle is two modules that are one.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    ...(existsSync('tsconfig.json') ? { tsConfig: { fileName: 'tsconfig.json' } } : {}),
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
