import type { WireEvent } from './codec/messages.js';
import { eventHash, eventSignPayload, type LockEventFields, verifySignature, ZERO_HASH } from './identity.js';

/** One entry of a lock's hash-chained, signed event log (PROTOCOL.md §7). */
export interface LockEvent extends LockEventFields {
  sig: Uint8Array;
  /** eventHash() of this entry: what the next entry's `prev` must equal. */
  hash: Uint8Array;
}

export function eventFromWire([counter, time, kind, detail, prev, sig]: WireEvent): LockEvent {
  const fields = { counter, time, kind, detail, prev };
  return { ...fields, sig, hash: eventHash(fields) };
}

export function eventToWire(e: LockEvent): WireEvent {
  return [e.counter, e.time, e.kind, e.detail, e.prev, e.sig];
}

export type ChainProblemKind =
  /** A counter is missing: entries were removed. */
  | 'gap'
  /** A counter repeats or goes back: entries were reordered or replayed. */
  | 'counter_back'
  /** `prev` does not match the hash of the entry before: an entry was altered. */
  | 'broken_link'
  /** The entry is not signed by the lock's identity key. */
  | 'bad_signature'
  /** The log does not end where INFO/AUTH said it ends. */
  | 'head_mismatch';

export interface ChainProblem {
  kind: ChainProblemKind;
  counter: number;
  detail: string;
}

export interface ChainAnchor {
  /** Counter of the last entry already known and trusted (0 = start of the log). */
  counter: number;
  hash: Uint8Array;
}

/**
 * Checks a run of events for continuity and signatures. Returns every problem rather
 * than throwing: a broken chain is evidence to store and report, not a read failure.
 */
export function verifyEventChain(
  lockId: string,
  identityKey: Uint8Array,
  events: readonly LockEvent[],
  expected: { count: number; head: Uint8Array },
  anchor: ChainAnchor = { counter: 0, hash: ZERO_HASH },
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let counter = anchor.counter;
  let hash: Uint8Array = anchor.hash;
  for (const e of events) {
    if (e.counter <= counter) {
      problems.push({
        kind: 'counter_back',
        counter: e.counter,
        detail: `counter ${e.counter} after ${counter}`,
      });
    } else if (e.counter !== counter + 1) {
      problems.push({
        kind: 'gap',
        counter: e.counter,
        detail: `counters ${counter + 1}..${e.counter - 1} missing`,
      });
    }
    if (!Buffer.from(e.prev).equals(hash)) {
      problems.push({
        kind: 'broken_link',
        counter: e.counter,
        detail: 'prev does not match the previous entry',
      });
    }
    if (!verifySignature(eventSignPayload(lockId, e.hash), e.sig, identityKey)) {
      problems.push({ kind: 'bad_signature', counter: e.counter, detail: 'signature does not verify' });
    }
    counter = e.counter;
    hash = e.hash;
  }
  if (counter !== expected.count || !Buffer.from(hash).equals(expected.head)) {
    problems.push({
      kind: 'head_mismatch',
      counter,
      detail: `log ends at ${counter}, lock announced ${expected.count}`,
    });
  }
  return problems;
}
