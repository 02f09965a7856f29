import nacl from 'tweetnacl';
import { EventKind } from '../../lock/codec/constants.js';
import type { LockEvent } from '../../lock/event-log.js';
import { eventHash, eventSignPayload, sha256, ZERO_HASH } from '../../lock/identity.js';

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

/**
 * What a simulated lock's log holds when it starts, by how honest it is (PROTOCOL.md §7):
 * - `clean`: committed (detail: the first 8 bytes of the manifest's SHA-256), then sealed;
 * - `empty`: nothing at all, though the lock says it is sealed with a manifest;
 * - `foreign-commit`: the commit names another manifest;
 * - `bad-signature`: clean, but the sealed event is signed by another key;
 * - `unpaired`: empty, for a lock waiting at the loading track.
 */
export type SimulatedLogKind = 'clean' | 'empty' | 'foreign-commit' | 'bad-signature' | 'unpaired';

export function simulatedLog(
  lockId: string,
  secretKey: Uint8Array,
  manifest: Uint8Array,
  kind: SimulatedLogKind,
  options: { time: number; container?: string; extraSeals?: number } = { time: 1_790_000_000 },
): LockEvent[] {
  if (kind === 'empty' || kind === 'unpaired') return [];
  const named = kind === 'foreign-commit' ? Buffer.from('not the manifest carried') : manifest;
  const commit = {
    kind: EventKind.Commit,
    time: options.time,
    detail: Buffer.from(sha256(named).subarray(0, 8)),
  };
  const seals = Array.from({ length: 1 + (options.extraSeals ?? 0) }, (_, i) => ({
    kind: EventKind.Sealed,
    time: options.time + 60 * (i + 1),
    detail: Buffer.from(options.container ?? 'MSKU9070323'),
  }));
  const events = appendEvents(lockId, secretKey, [], [commit, ...seals]);
  if (kind === 'bad-signature') {
    const forger = nacl.sign.keyPair().secretKey;
    const last = events.at(-1)!;
    events[events.length - 1] = {
      ...last,
      sig: nacl.sign.detached(eventSignPayload(lockId, last.hash), forger),
    };
  }
  return events;
}
