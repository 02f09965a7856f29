import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/index.js';
import type { LockReadResult } from '../lock/reader.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { BleSource } from './ble-source.js';
import type { ReadOutcome } from './read-pipeline.js';
import type { SerialProgress } from './serial/port-reader.js';
import { SerialSource } from './serial/serial-source.js';

export interface LockSourceParts {
  store: Store;
  /** Where every read ends: the daemon's read pipeline. */
  accept: (result: LockReadResult) => ReadOutcome;
  log: Logger;
  clock: Clock;
}

/** The serial ports of the configuration (serial.*), read by the checkpoint role. */
export function serialSourceOf(
  c: AgentConfig,
  parts: LockSourceParts & { onProgress: (p: SerialProgress) => void },
): SerialSource {
  return new SerialSource({
    patterns: c.serial.ports,
    scanIntervalMs: c.serial.scanIntervalMs,
    baudRate: c.serial.baudRate,
    probeIntervalMs: c.serial.probeIntervalMs,
    readAttempts: c.serial.readAttempts,
    window: c.serial.window,
    chunk: c.serial.chunk,
    maxManifestBytes: c.serial.maxManifestKiB * 1024,
    readDeadlineMs: c.serial.readDeadlineMs,
    gatewayId: c.gateway.id,
    store: parts.store,
    ingest: parts.accept,
    onProgress: parts.onProgress,
    log: parts.log,
    clock: parts.clock,
  });
}

/** The BLE train reader of the configuration (ble.*), with the serial session's limits. */
export function bleSourceOf(c: AgentConfig, parts: LockSourceParts): BleSource {
  return new BleSource({
    ble: c.ble,
    session: {
      window: c.serial.window,
      chunk: c.serial.chunk,
      maxManifestBytes: c.serial.maxManifestKiB * 1024,
      readDeadlineMs: c.serial.readDeadlineMs,
    },
    gatewayId: c.gateway.id,
    store: parts.store,
    ingest: parts.accept,
    log: parts.log,
    clock: parts.clock,
  });
}
