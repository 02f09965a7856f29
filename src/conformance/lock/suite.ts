import { randomBytes } from 'node:crypto';
import { isCtopError, toCtopError } from '../../errors.js';
import type { LinkOpener } from '../../lock/transport/link.js';
import { advertisingChecks } from './check-advertising.js';
import { binaryChecks } from './check-binary.js';
import { eventChecks } from './check-events.js';
import { gattChecks } from './check-gatt.js';
import { hostileChecks, lineTimeoutChecks } from './check-hostile.js';
import { readChecks } from './check-read.js';
import { sessionChecks } from './check-session.js';
import { Findings, type RequirementResult } from './findings.js';
import type { LockAdvertising, Run } from './run.js';

export type CheckGroup =
  | 'advertising'
  | 'session'
  | 'read'
  | 'events'
  | 'hostile'
  | 'line-timeout'
  | 'binary'
  | 'gatt';
// Advertising first: the lock is heard before any link of the kit has opened.
export const CHECK_GROUPS: readonly CheckGroup[] = [
  'advertising',
  'session',
  'read',
  'events',
  'hostile',
  'line-timeout',
  'binary',
  'gatt',
];

const GROUPS: Record<CheckGroup, (run: Run) => Promise<void>> = {
  advertising: advertisingChecks,
  session: sessionChecks,
  read: readChecks,
  events: eventChecks,
  hostile: hostileChecks,
  'line-timeout': lineTimeoutChecks,
  binary: binaryChecks,
  gatt: gattChecks,
};

/** Requirements judged on every line the lock sends, whichever group ran. */
const OBSERVED = ['LINE-1', 'LINE-2', 'FRAME-1', 'FRAME-5', 'SESS-1'] as const;

export interface LockConformanceOptions {
  /** Opens a new link to the lock under test; called for every group and every resume. */
  open: LinkOpener;
  /** What `open` opens. Default 'serial'. */
  transport?: 'serial' | 'ble';
  /**
   * Over BLE, when the lock announces its GATT handles (§13.5): an opener of links at them
   * alone (`open` should discover, so that every other check judges the lock, not its
   * announcement).
   */
  announced?: { rxHandle: number; open: LinkOpener };
  /** Over BLE: the lock's advertising (ADV-1). */
  advertising?: LockAdvertising;
  /** The identity key provisioned for the lock (checks AUTH-2). */
  pinnedKey?: Uint8Array;
  /** Gateway id sent in HELLO. Default 'ctop-conformance'. */
  gatewayId?: string;
  /** Silence after which an answer is given up. Default 3 s + 4 line times. */
  answerTimeoutMs?: number;
  /** The link's nominal rate, bytes/s, for the default answer timeout. */
  bytesPerSecond?: number;
  /** Largest manifest read in full. Default 16 MiB. */
  maxManifestBytes?: number;
  /** Groups to run; default all, in order. */
  groups?: readonly CheckGroup[];
}

export interface LockConformanceReport {
  lockId?: string;
  firmware?: string;
  startedAt: string;
  durationMs: number;
  /** Every MUST passed (or does not apply). */
  conforms: boolean;
  results: RequirementResult[];
  /** Requirements no group of this run covers (a partial run). */
  notRun: string[];
}

/**
 * Plays the gateway against a lock under test and judges it against the requirements of
 * PROTOCOL.md §16: HELLO/AUTH and session state, windowed READ with a resume on a new link,
 * EVENTS and the chain, and a hostile gateway.
 */
export async function runLockConformance(options: LockConformanceOptions): Promise<LockConformanceReport> {
  const started = Date.now();
  const t0 = performance.now();
  const findings = new Findings();
  const lineMs = options.bytesPerSecond ? (2048 * 1000) / options.bytesPerSecond : 20;
  const run: Run = {
    open: options.open,
    transport: options.transport ?? 'serial',
    ...(options.announced ? { announced: options.announced } : {}),
    ...(options.advertising ? { advertising: options.advertising } : {}),
    findings,
    gatewayId: options.gatewayId ?? 'ctop-conformance',
    maxManifestBytes: options.maxManifestBytes ?? 16 * 1024 * 1024,
    ...(options.pinnedKey ? { pinnedKey: options.pinnedKey } : {}),
    probe: {
      findings,
      sentBefore: new Map(),
      answerTimeoutMs: options.answerTimeoutMs ?? Math.ceil(3000 + 4 * lineMs),
      random: (n) => randomBytes(n),
      serviceTimes: [],
      seen: { lines: 0, frames: 0, stale: 0 },
    },
  };
  const groups = options.groups ?? CHECK_GROUPS;
  for (const g of groups) {
    try {
      await GROUPS[g](run);
    } catch (err) {
      // A device that cannot be opened at all is the operator's problem, not the lock's.
      if (run.probe.seen.lines === 0 && isCtopError(err, 'E_TRANSPORT_OPEN')) throw err;
      findings.interrupted(`${g} checks stopped: ${toCtopError(err).message}`);
    }
  }
  const { seen, serviceTimes } = run.probe;
  for (const id of OBSERVED) {
    if (seen.frames > 0) findings.pass(id, `${seen.frames} frames in ${seen.lines} lines observed`);
  }
  if (serviceTimes.length > 0) {
    const sorted = [...serviceTimes].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    findings.check(
      'TIME-1',
      median <= 100,
      `median ${median.toFixed(0)} ms over ${sorted.length} lone requests (round trip minus line time)`,
    );
  }
  const covered = new Set(groups.flatMap((g) => COVERS[g]));
  const results = findings.results();
  const notRun = results.filter((r) => !covered.has(r.id)).map((r) => r.id);
  const judged = results.filter((r) => covered.has(r.id));
  return {
    ...(run.info ? { lockId: run.info.id, firmware: run.info.fw } : {}),
    startedAt: new Date(started).toISOString(),
    durationMs: Math.round(performance.now() - t0),
    conforms: judged.every((r) => r.level !== 'MUST' || r.verdict !== 'fail'),
    results: judged,
    notRun,
  };
}

/** Which requirements each group judges (observed ones by every group). */
const COVERS: Record<CheckGroup, string[]> = {
  // It opens no link: the observed requirements are left to the groups that do.
  advertising: ['ADV-1'],
  session: ['HELLO-1', 'HELLO-2', 'HELLO-3', 'AUTH-1', 'AUTH-2', 'SESS-3', 'TIME-1', ...OBSERVED],
  read: ['READ-1', 'READ-2', 'READ-3', 'READ-4', 'SESS-4', 'SESS-5', 'SESS-6', ...OBSERVED],
  events: ['EV-1', 'EV-2', 'EV-3', ...OBSERVED],
  hostile: ['FRAME-2', 'FRAME-3', 'FRAME-4', 'SESS-2', 'SESS-6', 'LINE-3', ...OBSERVED],
  'line-timeout': ['LINE-4', 'LINE-5', ...OBSERVED],
  binary: ['BIN-1', 'BIN-2', 'BIN-3', 'BIN-4', 'BIN-5', ...OBSERVED],
  // Its one link may not open at all (a lock announcing nothing): the observed requirements
  // are left to the groups that surely talk to the lock.
  gatt: ['GATT-1'],
};
