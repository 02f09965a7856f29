import { createHash } from 'node:crypto';
import { encodeCanonical } from '../cbor/index.js';
import type { Clock } from '../clock.js';
import { ingestRead } from '../ingest/ingest-read.js';
import type { TrustStore } from '../keys/index.js';
import type { Logger } from '../log.js';
import type { OutboxRouting, RecordedRead, Store } from '../store/index.js';
import type { PairingResult } from './pair-lock.js';

/**
 * The pairing record a loading gateway sends the exchange (outbox kind `pairing`,
 * EXCHANGE.md §4.3): deterministic CBOR of
 *
 * ```cddl
 * pairing = {
 *   "lockId":        tstr,            ; as the lock reports it
 *   "identityKey":   bstr .size 32,   ; the Ed25519 key the lock proved in the read-back
 *   "container":     tstr,            ; ISO 6346
 *   "wagon":         tstr,
 *   "manifestId":    tstr,            ; SHA-256 hex of the manifest bytes written
 *   "commitCounter": uint,            ; the lock's commit event of that manifest
 *   "sealCounter":   uint,            ; the lock's sealed event for the container
 *   "sealEvent":     bstr .size 32,   ; its hash (PROTOCOL.md §7): the anchor a checkpoint checks the log against
 *   "sealedAt":      uint,            ; its time, ms (lock clock)
 *   "carrierKid":    tstr,            ; the carrier key that authorized the write
 *   "gatewayId":     tstr
 * }
 * ```
 *
 * Everything in it comes from the lock's signed log and the command line, nothing from
 * this gateway's clock: a pairing resumed after a crash produces the very same bytes, so
 * the record is queued once (and the exchange would recognise a resend by its messageId).
 */
export interface PairingRecordContext {
  wagon: string;
  carrierKid: string;
  gatewayId: string;
}

export function pairingPayload(result: PairingResult, context: PairingRecordContext): Buffer {
  return encodeCanonical({
    lockId: result.lockId,
    identityKey: result.identityKey,
    container: Buffer.from(result.sealEvent.detail).toString('utf8'),
    wagon: context.wagon,
    manifestId: result.manifestId,
    commitCounter: result.commitEvent.counter,
    sealCounter: result.sealEvent.counter,
    sealEvent: result.sealEvent.hash,
    sealedAt: result.sealEvent.time * 1000,
    carrierKid: context.carrierKid,
    gatewayId: context.gatewayId,
  });
}

export interface RecordPairingOptions extends PairingRecordContext {
  store: Store;
  trust: TrustStore;
  log: Logger;
  clock: Clock;
}

export interface RecordedPairing {
  /** The read-back, stored like any lock read (manifest, events, alerts, their outbox rows). */
  ingest: RecordedRead;
  /** The outbox row of the pairing record. */
  outboxId: number;
  /** The same pairing was recorded before (a resumed run): nothing new was queued. */
  duplicate: boolean;
}

/**
 * Stores a completed pairing in one transaction: the read-back as a lock read (pinning the
 * lock's key on first use, storing manifest and events, queuing them) and the pairing
 * record in the outbox, unless that very record is queued already.
 */
export function recordPairing(result: PairingResult, options: RecordPairingOptions): RecordedPairing {
  const { store } = options;
  const payload = pairingPayload(result, options);
  const routing: OutboxRouting = {
    lockId: result.lockId,
    manifestId: result.manifestId,
    container: Buffer.from(result.sealEvent.detail).toString('utf8'),
    wagon: options.wagon,
    sealCounter: result.sealEvent.counter,
  };
  const sha = createHash('sha256').update(payload).digest();
  return store.transaction(() => {
    const ingest = ingestRead(result.readBack, {
      store,
      trust: options.trust,
      gatewayId: options.gatewayId,
      log: options.log,
    });
    const existing = store.outbox.findPairing(sha);
    if (existing !== undefined) return { ingest, outboxId: existing, duplicate: true };
    const outboxId = store.outbox.enqueue('pairing', payload, routing, options.clock.now());
    return { ingest, outboxId, duplicate: false };
  });
}
