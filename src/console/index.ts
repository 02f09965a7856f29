/**
 * The officers' checkpoint console (issue 10, docs/CONSOLE.md): a local web page, read-only,
 * behind a login, every view written to the store's audit trail.
 *
 * The daemon mounts it:
 *
 *     const trains = new LiveTrains();                       // or any TrainFeed
 *     const app = createConsole({ store, trust, recipientKeys, officers, trains, metricsPath, log });
 *     await app.listen({ host: '127.0.0.1', port: 8443 });
 *     ...
 *     await app.close();                                     // ends the live streams too
 *
 * Producers of live train state publish `TrainView`s into the feed (`LiveTrains.publish`);
 * `TrainRecorder` builds them from lock reads (readLock's onProgress + the ingest result),
 * and `lockVerdict` is the shared rule for the strip's colours.
 */
export { type ConsoleOptions, type ConsoleServer, createConsole } from './console.js';
export { type LockVerdict, lockVerdict } from './lock-state.js';
export type { LoginLimitOptions } from './login-limiter.js';
export {
  loadOfficers,
  OFFICER_ROLES,
  type Officer,
  type OfficerAccount,
  type OfficerRole,
} from './officers.js';
export {
  DEFAULT_SCRYPT,
  hashPassword,
  MIN_PASSWORD_LENGTH,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from './passwords.js';
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from './security-headers.js';
export type { SessionOptions } from './sessions.js';
export type { TrainEventsOptions } from './train-events.js';
export {
  LiveTrains,
  type LiveTrainsOptions,
  LOCK_STATES,
  type LockState,
  type LockView,
  type TrainFeed,
  type TrainSink,
  type TrainView,
} from './train-feed.js';
export { type ConsistLock, TrainRecorder, type TrainRecorderOptions } from './train-recorder.js';
