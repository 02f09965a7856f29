import { CtopError } from '../errors.js';
import { assessTamper, type TamperFinding } from '../ingest/tamper.js';
import type { ChainHead } from '../lock/carrier-session.js';
import { EventKind, SealState } from '../lock/codec/constants.js';
import type { LockEvent } from '../lock/event-log.js';
import type { LockReadResult } from '../lock/reader.js';
import type { PairingManifest } from './prepare.js';

export interface VerifiedPairing {
  manifestId: string;
  /** The commit event of this manifest the seal follows. */
  commitEvent: LockEvent;
  /** The seal that closes the lock for the container. */
  sealEvent: LockEvent;
  /** What a checkpoint reading the lock now would flag (e.g. an UNSEAL of this same manifest). */
  findings: TamperFinding[];
}

export interface PairingExpectation {
  manifest: PairingManifest;
  container: string;
  /** Chain heads the lock answered COMMIT and SEAL with in this run, if it ran them. */
  steps: { committed: ChainHead | undefined; sealed: ChainHead | undefined };
}

function fail(message: string, details: Record<string, unknown> = {}, cause?: unknown): never {
  throw new CtopError('E_PAIRING_VERIFY', message, { details, ...(cause ? { cause } : {}) });
}

/**
 * The read-back of PROTOCOL.md §12 step 5, judged as a checkpoint will judge it: the lock
 * serves exactly the manifest written, its log is an unbroken signed chain, it records a
 * commit of this manifest followed by a seal for this container, it reports itself sealed,
 * and the heads it answered COMMIT and SEAL with are entries of that chain.
 */
export function verifyPairing(read: LockReadResult, expected: PairingExpectation): VerifiedPairing {
  const { manifest, container } = expected;
  const lockId = manifest.routing.lockId;
  if (read.outcome !== 'complete' || !read.info) {
    fail(
      `the read-back of lock ${lockId} failed: ${read.error?.message ?? 'incomplete'}`,
      { lockId },
      read.error,
    );
  }
  const info = read.info;
  if (!read.manifest || !Buffer.from(read.manifest).equals(manifest.bytes)) {
    fail(`lock ${lockId} does not serve the manifest just written`, {
      lockId,
      served: read.manifest?.byteLength ?? 0,
      written: manifest.bytes.byteLength,
    });
  }
  if (read.chainProblems.length > 0) {
    fail(
      `lock ${lockId} event log: ${read.chainProblems.map((p) => `${p.kind} at ${p.counter}`).join(', ')}`,
      { lockId, problems: read.chainProblems.map((p) => p.kind) },
    );
  }
  if (info.seal !== SealState.Sealed)
    fail(`lock ${lockId} reports seal state ${info.seal}, not sealed`, { lockId });
  const prefix = manifest.sha256.subarray(0, 8);
  const events = read.events;
  const commitIndex = events.findLastIndex((e) => e.kind === EventKind.Commit && prefix.equals(e.detail));
  if (commitIndex === -1) fail(`lock ${lockId} logs no commit of this manifest`, { lockId });
  const sealIndex = events.findLastIndex((e) => e.kind === EventKind.Sealed);
  const sealEvent = events[sealIndex];
  if (!sealEvent || sealIndex < commitIndex || Buffer.from(sealEvent.detail).toString('utf8') !== container) {
    fail(`lock ${lockId} logs no seal for container ${container} after the commit`, { lockId, container });
  }
  for (const [what, head] of Object.entries(expected.steps)) {
    if (!head) continue;
    const entry = events.find((e) => e.counter === head.ecount);
    if (!entry || !Buffer.from(entry.hash).equals(head.ehead)) {
      fail(`the ${what} answer of lock ${lockId} (event ${head.ecount}) is not in the log it serves`, {
        lockId,
        counter: head.ecount,
      });
    }
  }
  return {
    manifestId: manifest.manifestId,
    commitEvent: events[commitIndex]!,
    sealEvent,
    findings: assessTamper({
      lockId,
      sealState: info.seal,
      manifestHash: info.mhash,
      eventCount: info.ecount,
      events,
    }),
  };
}
