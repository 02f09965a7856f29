/**
 * Carrier pairing at loading (PROTOCOL.md §12, issue 9): a lock is paired with a container
 * by writing the signed manifest into it, committing and sealing it, and reading it back.
 *
 * - `composeForPairing(goodsFile, signer, recipients)`: `pair --goods`, the same bytes for
 *   the same inputs so a rerun resumes
 * - `preparePairing({ manifest, container, wagon, trust })` → PairingManifest: the manifest
 *   must verify and name that container and wagon (E_PAIRING_ROUTING otherwise)
 * - `pairLock({ open, manifest, container, carrier, … })` → PairingResult: HELLO, AUTH,
 *   CARRIER_AUTH, windowed WRITE, COMMIT, SEAL, read-back; resumes from what the lock reports
 * - `bleLockOpener(radio, lockId)`: a LinkOpener for a lock heard advertising its id
 * - `recordPairing(result, { store, trust, … })`: the read-back stored as a lock read and the
 *   pairing record queued for the exchange (outbox kind `pairing`), once
 */
export { bleLockOpener, type FindLockOptions, findLock } from './ble-opener.js';
export { type ComposedForPairing, composeForPairing } from './compose.js';
export {
  type PairingCarrier,
  type PairingPhase,
  type PairingProgress,
  type PairingResult,
  type PairingSteps,
  type PairLockOptions,
  pairLock,
} from './pair-lock.js';
export {
  type PairingRecordContext,
  pairingPayload,
  type RecordedPairing,
  type RecordPairingOptions,
  recordPairing,
} from './pairing-record.js';
export { type PairingManifest, type PrepareOptions, preparePairing } from './prepare.js';
export { type PairingExpectation, type VerifiedPairing, verifyPairing } from './verify-pairing.js';
export { type WriteStagedOptions, writeStaged } from './write-staged.js';
