import { randomBytes } from 'node:crypto';
import { EventKind } from '../../lock/codec/constants.js';
import { SerialLink } from '../../lock/transport/serial-link.js';
import type { Logger } from '../../log.js';
import { PtyPair } from '../pty-pair.js';
import { appendEvents } from './event-log-builder.js';
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
  eventCount?: number;
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
  const t0 = 1_790_000_000;
  const events = appendEvents(
    lockId,
    identity.secretKey,
    [],
    Array.from({ length: options.eventCount ?? 3 }, (_, i) => ({
      kind: i === 0 ? EventKind.Commit : EventKind.Sealed,
      time: t0 + i * 60,
      detail: Buffer.from(`evt-${i}`),
    })),
  );
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
