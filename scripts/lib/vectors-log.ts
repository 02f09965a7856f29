import { EventKind, SealState } from '../../src/lock/codec/constants.js';
import type { LockEvent } from '../../src/lock/event-log.js';
import { sha256, ZERO_HASH } from '../../src/lock/identity.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import {
  CARRIER_KEY_LABEL,
  type EventLogVector,
  hex,
  type KeyVector,
  LOCK_KEY_LABEL,
  MANIFEST,
  seedOf,
  T0,
  VECTOR_LOCK_ID,
  vectorCarrierKey,
  vectorEvent,
  vectorLock,
  vectorLockKey,
} from './vector-helpers.js';

/**
 * Revision 1.1 vectors for the vector keys (PROTOCOL.md §15: label → seed → key pair) and
 * for the clean-log rule of a sealed lock (§7): a state, a log, and the findings a gateway
 * must raise.
 */

function keyVector(name: string, description: string, label: string, publicKey: Uint8Array): KeyVector {
  return { name, description, kind: 'key', label, seed: hex(seedOf(label)), publicKey: hex(publicKey) };
}

function logVector(
  name: string,
  description: string,
  events: readonly LockEvent[],
  findings: string[],
  seal: SealState = SealState.Sealed,
): EventLogVector {
  const head = events.at(-1);
  return {
    name,
    description,
    kind: 'event-log',
    lockId: VECTOR_LOCK_ID,
    publicKey: hex(vectorLockKey.publicKey),
    state: {
      seal,
      msize: MANIFEST.byteLength,
      mhash: hex(sha256(MANIFEST)),
      ecount: head?.counter ?? 0,
      ehead: hex(head?.hash ?? ZERO_HASH),
    },
    events: events.map(vectorEvent),
    findings,
  };
}

export function buildLogVectors(): (KeyVector | EventLogVector)[] {
  const { events } = vectorLock();
  const sign = (specs: { kind: EventKind; time: number; detail?: Uint8Array }[]) =>
    appendEvents(VECTOR_LOCK_ID, vectorLockKey.secretKey, [], specs);
  const write = { kind: EventKind.Write, time: T0, detail: Buffer.from('KTZE-EXPRESS-01') };
  const other = sha256(Buffer.from('another manifest', 'utf8')).subarray(0, 8);
  return [
    keyVector(
      'vector-lock-key',
      'the identity key of the vector lock: Ed25519 from seed = SHA-256(UTF-8 label)',
      LOCK_KEY_LABEL,
      vectorLockKey.publicKey,
    ),
    keyVector(
      'vector-carrier-key',
      'the carrier key KTZE-EXPRESS-01 of the vectors: Ed25519 from seed = SHA-256(UTF-8 label)',
      CARRIER_KEY_LABEL,
      vectorCarrierKey.publicKey,
    ),
    logVector('log-clean', 'sealed, the manifest committed then sealed: no finding', events, []),
    logVector('log-empty', 'sealed and carrying a manifest, but the log is empty', [], ['empty_log']),
    logVector(
      'log-foreign-commit',
      'sealed; the only commit names another manifest (first 8 bytes of its SHA-256)',
      sign([
        write,
        { kind: EventKind.Commit, time: T0 + 30, detail: other },
        { kind: EventKind.Sealed, time: T0 + 60, detail: Buffer.from('MSKU9070323') },
      ]),
      ['uncommitted_manifest'],
    ),
    logVector(
      'log-commit-not-sealed',
      'reports seal = 1, commits the manifest, but no sealed event follows the commit',
      sign([write, { kind: EventKind.Commit, time: T0 + 30, detail: sha256(MANIFEST).subarray(0, 8) }]),
      ['unsealed_commit'],
    ),
  ];
}
