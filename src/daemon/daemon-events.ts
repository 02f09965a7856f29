import type { LockProgress, TrainSummary } from '../train/train-board.js';
import type { ReadOutcome } from './read-pipeline.js';
import type { SerialProgress } from './serial/port-reader.js';

export type DaemonState = 'new' | 'starting' | 'ready' | 'stopping' | 'stopped';

export interface DaemonEvents {
  read: [ReadOutcome];
  /** A serial read advanced (phase, bytes of the manifest). */
  'serial-progress': [SerialProgress];
  /** A lock of a passing train changed state (BLE). */
  'train-lock': [LockProgress];
  'train-start': [{ trainId: string; startedAt: number }];
  'train-end': [TrainSummary];
  ready: [];
  stopping: [];
  stopped: [];
  reloaded: [ReloadOutcome];
}

export interface ReloadOutcome {
  trustKeys: number;
  /** Stored manifests newly flagged revoked by the reloaded trust store. */
  revokedManifests: number;
  /** The kid envelopes are signed with after the reload. */
  gatewayKid: string | undefined;
  problems: string[];
}
