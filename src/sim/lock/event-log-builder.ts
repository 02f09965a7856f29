import nacl from 'tweetnacl';
import type { LockEvent } from '../../lock/event-log.js';
import { eventHash, eventSignPayload, ZERO_HASH } from '../../lock/identity.js';

export interface EventSpec {
  kind: number;
  /** Unix seconds. */
  time: number;
  detail?: Uint8Array;
}

/**
 * Appends correctly chained, signed entries to a lock's event log, as lock firmware
 * does (PROTOCOL.md §7). Returns a new array.
 */
export function appendEvents(
  lockId: string,
  secretKey: Uint8Array,
  log: readonly LockEvent[],
  specs: readonly EventSpec[],
): LockEvent[] {
  const out = [...log];
  for (const spec of specs) {
    const last = out.at(-1);
    const fields = {
      counter: (last?.counter ?? 0) + 1,
      time: spec.time,
      kind: spec.kind,
      detail: spec.detail ?? new Uint8Array(0),
      prev: last?.hash ?? ZERO_HASH,
    };
    const hash = eventHash(fields);
    out.push({ ...fields, hash, sig: nacl.sign.detached(eventSignPayload(lockId, hash), secretKey) });
  }
  return out;
}
