import { randomBytes } from 'node:crypto';
import { SerialLink } from '../../lock/transport/serial-link.js';
import type { Logger } from '../../log.js';
import { PtyPair } from '../pty-pair.js';
import { type SimulatedLogKind, simulatedLog } from './event-log-builder.js';
import { generateLockIdentity, LockEngine, type LockEngineOptions } from './lock-engine.js';
import { SerialLockServer } from './serial-lock-server.js';
import { type LockFaults, SimulatedLock } from './simulated-lock.js';

export interface SerialLockSetup {
  pty: PtyPair;
  lock: SimulatedLock;
  server: SerialLockServer;
  manifest: Uint8Array;
  baudRate: number;
  /** Opens a fresh gateway-side link, as the reader does on every attempt. */
  open: () => Promise<SerialLink>;
  close: () => Promise<void>;
}

export interface SerialLockSetupOptions {
  lockId?: string;
  manifest?: Uint8Array;
  manifestSize?: number;
  baudRate?: number;
  faults?: LockFaults;
  engine?: Partial<LockEngineOptions>;
  /** Events in the lock's log: a commit of its manifest, then seals. Default 3; 0 is an empty log. */
  eventCount?: number;
  /** How honest the log is (simulatedLog); default 'clean'. */
  logKind?: SimulatedLogKind;
  log?: Logger;
}

/**
 * A simulated lock served on one end of a real pty pair, paced to `baudRate`; the gateway
 * opens the other end. Used by the tests, the benchmark and the embedded demo; close() it.
 */
export async function startSerialLock(options: SerialLockSetupOptions = {}): Promise<SerialLockSetup> {
  const lockId = options.lockId ?? 'SSL-KZ-000123';
  const identity = options.engine?.identity ?? generateLockIdentity();
  const manifest = options.manifest ?? randomBytes(options.manifestSize ?? 8 * 1024);
  const count = options.eventCount ?? 3;
  const events = simulatedLog(
    lockId,
    identity.secretKey,
    manifest,
    count === 0 ? 'empty' : (options.logKind ?? 'clean'),
    {
      time: 1_790_000_000,
      extraSeals: Math.max(0, count - 2),
    },
  ).slice(0, count);
  const engine = new LockEngine({ lockId, identity, manifest, events, ...options.engine });
  const lock = new SimulatedLock(engine, options.faults, options.log);
  const pty = await PtyPair.open();
  const baudRate = options.baudRate ?? 921600;
  const server = await SerialLockServer.start({
    lock,
    path: pty.lockPath,
    baudRate,
    pty,
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    pty,
    lock,
    server,
    manifest,
    baudRate,
    open: () => SerialLink.open({ path: pty.gatewayPath, baudRate }),
    close: async () => {
      await server.stop();
      await pty.close();
    },
  };
}
