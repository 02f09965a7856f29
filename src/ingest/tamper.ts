import { EVENT_KIND_NAMES, EventKind, SealState } from '../lock/codec/constants.js';
import type { LockEvent } from '../lock/event-log.js';

/**
 * What a lock's own log and state say happened to the container since loading, beyond the
 * chain's integrity (gaps, breaks and bad signatures are verifyEventChain's). Called by the
 * verdict on every read (src/ingest/verdict.ts) and by the pairing's read-back check:
 *
 * - `opened`: the shackle was opened without UNSEAL after the loading seal;
 * - `tamper_event`: a tamper sensor fired after the loading seal;
 * - `unsealed`: an authenticated UNSEAL after the loading seal (a carrier or customs key
 *   opened it; legitimate or not, the officer must know);
 * - `seal_broken`: the lock reports seal state 2 (opened without UNSEAL);
 * - `not_sealed`: the lock carries a manifest but is not sealed;
 * - `empty_log`: a sealed lock carrying a manifest has an empty log (PROTOCOL.md §7, the
 *   clean log of a sealed lock);
 * - `uncommitted_manifest`: no commit event names the manifest the lock carries (the manifest
 *   changed without a COMMIT); for a sealed lock also when the log holds no commit at all;
 * - `unsealed_commit`: a sealed lock's log has no `sealed` event after the commit naming its
 *   manifest;
 * - `counter_back`: the lock's newest counter is below one this gateway already saw: the log
 *   was cut back or the flash restored from an older image.
 */
export type TamperFindingKind =
  | 'opened'
  | 'tamper_event'
  | 'unsealed'
  | 'seal_broken'
  | 'not_sealed'
  | 'uncommitted_manifest'
  | 'empty_log'
  | 'unsealed_commit'
  | 'counter_back';

export interface TamperFinding {
  kind: TamperFindingKind;
  /** The event counter it rests on (the lock's newest counter for state findings). */
  counter: number;
  detail: string;
}

export interface TamperInput {
  lockId: string;
  sealState: number;
  /** SHA-256 of the manifest the lock carries, or undefined when it carries none. */
  manifestHash: Uint8Array | undefined;
  /** The lock's newest counter, as announced. */
  eventCount: number;
  /** The log as read, already checked by verifyEventChain. */
  events: readonly LockEvent[];
  /** The newest counter this gateway saw from this lock in an earlier trusted read. */
  knownEventCount?: number;
}

/** Commit events name the manifest by the first 8 bytes of its SHA-256 (PROTOCOL.md §7). */
const COMMIT_DETAIL_BYTES = 8;

/** The loading seal and what follows it; see TamperFinding for the rules. */
export function assessTamper(input: TamperInput): TamperFinding[] {
  const { lockId, events } = input;
  const findings: TamperFinding[] = [];
  const prefix = input.manifestHash
    ? Buffer.from(input.manifestHash.subarray(0, COMMIT_DETAIL_BYTES))
    : undefined;

  // Loading = the FIRST commit of the manifest the lock carries, then the first seal after
  // it. Anchoring on the first commit (not the last) keeps a rewrite of the same manifest
  // after an UNSEAL from hiding the UNSEAL.
  let commit = prefix ? events.findIndex((e) => e.kind === EventKind.Commit && prefix.equals(e.detail)) : -1;
  // §7, the clean log of a sealed lock: it carries a manifest, so its log holds the commit
  // naming it and a seal after that; an empty log or none of them is a tamper finding.
  const sealedWithManifest = input.sealState === SealState.Sealed && prefix !== undefined;
  if (sealedWithManifest && events.length === 0 && input.eventCount === 0) {
    findings.push({
      kind: 'empty_log',
      counter: 0,
      detail: `lock ${lockId} is sealed and carries manifest ${prefix.toString('hex')}… but its event log is empty`,
    });
  } else if (sealedWithManifest && commit === -1) {
    findings.push({
      kind: 'uncommitted_manifest',
      counter: input.eventCount,
      detail: `lock ${lockId} is sealed and carries manifest ${prefix.toString('hex')}… but no commit event names it`,
    });
  } else if (sealedWithManifest && !events.some((e, i) => i > commit && e.kind === EventKind.Sealed)) {
    findings.push({
      kind: 'unsealed_commit',
      counter: input.eventCount,
      detail: `lock ${lockId} is sealed but no sealed event follows the commit of its manifest (event ${events[commit]!.counter})`,
    });
  }
  if (commit === -1) {
    const comparable = events.some(
      (e) => e.kind === EventKind.Commit && e.detail.byteLength === COMMIT_DETAIL_BYTES,
    );
    // (A sealed lock already has its clean-log finding above.)
    if (prefix && comparable && !sealedWithManifest) {
      findings.push({
        kind: 'uncommitted_manifest',
        counter: input.eventCount,
        detail: `lock ${lockId} carries manifest ${prefix.toString('hex')}… but its log commits only other manifests`,
      });
    }
    // The loading anchor for what follows: the last commit, if any (an unsealed lock's
    // log without comparable commits is older firmware's).
    commit = events.findLastIndex((e) => e.kind === EventKind.Commit);
  }
  const seal = events.findIndex((e, i) => i > commit && e.kind === EventKind.Sealed);
  if (seal !== -1) {
    const loading = events[seal]!;
    for (const e of events.slice(seal + 1)) {
      const kind =
        e.kind === EventKind.Opened
          ? 'opened'
          : e.kind === EventKind.Tamper
            ? 'tamper_event'
            : e.kind === EventKind.Unsealed
              ? 'unsealed'
              : undefined;
      if (!kind) continue;
      const reason =
        kind === 'unsealed' && e.detail.byteLength > 0 ? ` (${Buffer.from(e.detail).toString('utf8')})` : '';
      findings.push({
        kind,
        counter: e.counter,
        detail: `lock ${lockId}: ${EVENT_KIND_NAMES[e.kind]} at ${iso(e.time)} (event ${e.counter}) after the loading seal of ${iso(loading.time)} (event ${loading.counter})${reason}`,
      });
    }
  }
  if (input.sealState === SealState.Tampered) {
    findings.push({
      kind: 'seal_broken',
      counter: input.eventCount,
      detail: `lock ${lockId} reports its shackle opened without UNSEAL (seal state 2)`,
    });
  } else if (input.sealState === SealState.Unsealed && input.manifestHash) {
    findings.push({
      kind: 'not_sealed',
      counter: input.eventCount,
      detail: `lock ${lockId} carries a manifest but is not sealed`,
    });
  }
  if (input.knownEventCount !== undefined && input.eventCount < input.knownEventCount) {
    findings.push({
      kind: 'counter_back',
      counter: input.eventCount,
      detail: `lock ${lockId}: its newest event counter went back from ${input.knownEventCount} to ${input.eventCount}: log cut back or flash restored`,
    });
  }
  return findings;
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
