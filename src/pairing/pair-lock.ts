import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, systemClock } from '../clock.js';
import { CtopError, isCtopError, toCtopError } from '../errors.js';
import { CarrierSession, type ChainHead } from '../lock/carrier-session.js';
import { EventKind, SealState, WireError } from '../lock/codec/constants.js';
import type { LockInfo } from '../lock/codec/messages.js';
import { isRetryable, type LockReadResult, readLock } from '../lock/reader.js';
import type { SessionOptions } from '../lock/session.js';
import type { LinkOpener } from '../lock/transport/link.js';
import { type Logger, silentLogger } from '../log.js';
import type { PairingManifest } from './prepare.js';
import { type VerifiedPairing, verifyPairing } from './verify-pairing.js';
import { writeStaged } from './write-staged.js';

/** The carrier's key as the pairing uses it: its id and a signing function (the secret stays with the caller). */
export interface PairingCarrier {
  kid: string;
  sign(payload: Uint8Array): Uint8Array;
}

export type PairingPhase =
  | 'connecting'
  | 'hello'
  | 'carrier_auth'
  | 'unseal'
  | 'write'
  | 'commit'
  | 'seal'
  | 'verify'
  | 'retrying'
  | 'done';

export interface PairingProgress {
  phase: PairingPhase;
  /** Bytes the lock has staged (write phase), else 0. */
  staged: number;
  total: number;
  /** Link attempt, from 1. */
  attempt: number;
  error?: CtopError;
}

export interface PairLockOptions extends SessionOptions {
  /** Opens a link to the lock; called again for every attempt and for the read-back. */
  open: LinkOpener;
  manifest: PairingManifest;
  /** The container the lock closes (ISO 6346, as in the manifest). */
  container: string;
  carrier: PairingCarrier;
  /** The identity key pinned for this lock id, if the gateway knows one. */
  pinnedKey?: Uint8Array;
  /** UNSEAL a lock sealed for another consignment first, logging this reason. Without it such a lock is E_PAIRING_SEALED. */
  unsealReason?: string;
  /** Links opened at most for the pairing itself. Default 6. */
  attempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onProgress?: (progress: PairingProgress) => void;
}

/** What this run did to the lock; a resumed pairing finds some of it done already. */
export interface PairingSteps {
  unsealed: boolean;
  /** Offsets at which writing continued a staging area left by an earlier link or run. */
  resumedFrom: number[];
  /** Manifest bytes sent in WRITE requests, retransmissions excluded. */
  bytesWritten: number;
  committed: ChainHead | undefined;
  sealed: ChainHead | undefined;
}

export interface PairingResult extends VerifiedPairing {
  lockId: string;
  identityKey: Uint8Array;
  steps: PairingSteps;
  links: number;
  retransmits: number;
  /** The confirming read, exactly as a checkpoint would make it. */
  readBack: LockReadResult;
}

/**
 * Pairs a lock with a container (PROTOCOL.md §12): HELLO and AUTH (the lock proves its
 * identity), CHALLENGE and CARRIER_AUTH (the carrier proves its key), WRITE the manifest into
 * the staging area, COMMIT, SEAL; then reads the lock back as a checkpoint would and checks
 * it carries these bytes, a valid chain, and the commit and seal just made.
 *
 * Resumable at any point, because every step is decided from what the lock reports on a
 * fresh link, not from what this process remembers: a lock already carrying the manifest is
 * not written again; a lock already sealed for this container is not sealed again; a
 * partly filled staging area is continued from its `staged` count (the COMMIT's hash check
 * catches bytes that were not ours; then the manifest is written once more from 0). So a
 * dropped link, a lock that lost power, or a killed process all end in running this again.
 */
export async function pairLock(options: PairLockOptions): Promise<PairingResult> {
  const clock: Clock = options.clock ?? systemClock;
  const log = (options.log ?? silentLogger).child({ component: 'pairing' });
  const { manifest } = options;
  const lockId = manifest.routing.lockId;
  const total = manifest.bytes.byteLength;
  const attempts = options.attempts ?? 6;
  const run: PairingRun = {
    options,
    clock,
    log,
    lockId,
    steps: { unsealed: false, resumedFrom: [], bytesWritten: 0, committed: undefined, sealed: undefined },
    rewrite: { used: false },
    identityKey: undefined,
    report: (phase, staged = 0, error) =>
      options.onProgress?.({ phase, staged, total, attempt, ...(error ? { error } : {}) }),
  };
  let links = 0;
  let retransmits = 0;
  let attempt = 0;

  for (attempt = 1; ; attempt++) {
    run.report('connecting');
    let session: CarrierSession | undefined;
    try {
      session = new CarrierSession(await options.open(), options);
      links++;
      await pairOverLink(session, run);
      break;
    } catch (err) {
      const e = toCtopError(err);
      await session?.close();
      const retry = resumable(e) && attempt < attempts;
      log[retry ? 'info' : 'warn'](
        { ...e.toLog(), lockId, attempt },
        retry
          ? `pairing attempt failed, resuming on a new link: ${e.message}`
          : `pairing failed: ${e.message}`,
      );
      if (!retry) throw e;
      run.report('retrying', 0, e);
      await sleep(
        Math.min(options.backoffMaxMs ?? 5000, (options.backoffBaseMs ?? 200) * 2 ** (attempt - 1)),
      );
    } finally {
      if (session) retransmits += session.stats.retransmits;
    }
  }

  run.report('verify');
  const readBack = await readBackLock(options, run.identityKey);
  const verified = verifyPairing(readBack, {
    manifest,
    container: options.container,
    steps: { committed: run.steps.committed, sealed: run.steps.sealed },
  });
  run.report('done', total);
  return {
    ...verified,
    lockId,
    identityKey: readBack.info!.key,
    steps: run.steps,
    links,
    retransmits: retransmits + readBack.stats.retransmits,
    readBack,
  };
}

/** What the attempts of one pairing share, across links. */
interface PairingRun {
  options: PairLockOptions;
  clock: Clock;
  log: Logger;
  lockId: string;
  steps: PairingSteps;
  /** The one full rewrite allowed after COMMIT found the staging area not ours, across all links. */
  rewrite: { used: boolean };
  /** The key the lock proved on the first link: every later link must prove the same. */
  identityKey: Uint8Array | undefined;
  report: (phase: PairingPhase, staged?: number, error?: CtopError) => void;
}

/**
 * One attempt over one link: HELLO, AUTH (a clone must not receive the manifest), UNSEAL
 * when asked and needed, the carrier's proof, WRITE and COMMIT unless the lock carries the
 * manifest already, SEAL, BYE. A lock already sealed with this manifest for this container
 * is left as it is.
 */
async function pairOverLink(session: CarrierSession, run: PairingRun): Promise<void> {
  const { options, clock, log, lockId, steps, report } = run;
  const { manifest, container } = options;
  report('hello');
  const info = await session.hello();
  if (info.id !== lockId) {
    throw new CtopError(
      'E_PAIRING_WRONG_LOCK',
      `the manifest names lock ${lockId}, the link reaches lock ${info.id}`,
      {
        details: { expected: lockId, found: info.id },
      },
    );
  }
  // A clone must not receive the manifest, nor pass for the lock at the checkpoint.
  await session.authenticate(options.pinnedKey ?? run.identityKey);
  run.identityKey = info.key;
  const ours = info.msize === manifest.bytes.byteLength && Buffer.from(info.mhash).equals(manifest.sha256);
  if (info.seal === SealState.Sealed) {
    if (ours && (await sealedFor(session)) === container) {
      log.info({ lockId }, 'the lock already carries this manifest, sealed for this container');
      await session.bye();
      return;
    }
    if (options.unsealReason === undefined) {
      throw new CtopError(
        'E_PAIRING_SEALED',
        `lock ${lockId} is sealed${ours ? ' for another container' : ' with another manifest'}`,
        { details: { lockId } },
      );
    }
    await carrierAuth(session, options.carrier, report);
    report('unseal');
    await session.unseal(unixSeconds(clock), options.unsealReason);
    steps.unsealed = true;
    log.info({ lockId, reason: options.unsealReason }, 'lock unsealed');
  }
  await carrierAuth(session, options.carrier, report);
  if (!ours) await writeAndCommit(session, info, manifest, steps, run.rewrite, report, log);
  report('seal');
  steps.sealed = await session.seal(unixSeconds(clock), container);
  log.info({ lockId, container, ecount: steps.sealed.ecount }, 'lock sealed');
  await session.bye();
}

/** A full read of the paired lock, as a checkpoint would make it, holding it to the key it proved. */
function readBackLock(
  options: PairLockOptions,
  identityKey: Uint8Array | undefined,
): Promise<LockReadResult> {
  const {
    manifest: _manifest,
    container: _container,
    carrier: _carrier,
    unsealReason: _unseal,
    attempts: _attempts,
    onProgress: _onProgress,
    pinnedKey: _pinned,
    ...readOptions
  } = options;
  return readLock({ ...readOptions, ...(identityKey ? { pinnedKey: identityKey } : {}) });
}

/**
 * Errors a new link may cure: the reader's (timeouts, drops, garbled frames), plus a lock
 * that forgot the session under us — BAD_STATE or NOT_AUTHORIZED mid-session mean it lost
 * power or timed the session out, and a fresh HELLO and CARRIER_AUTH carry on.
 */
function resumable(e: CtopError): boolean {
  if (isRetryable(e)) return true;
  const code = e.code === 'E_LOCK_REFUSED' ? e.details.wireCode : undefined;
  return code === WireError.BadState || code === WireError.NotAuthorized;
}

async function carrierAuth(
  session: CarrierSession,
  carrier: PairingCarrier,
  report: (phase: PairingPhase) => void,
): Promise<void> {
  if (session.carrierKid !== undefined) return;
  report('carrier_auth');
  await session.carrierAuthenticate(carrier.kid, carrier.sign);
}

/** The container of the newest seal in the lock's log. */
async function sealedFor(session: CarrierSession): Promise<string | undefined> {
  const events = await session.readEvents();
  const seal = events.findLast((e) => e.kind === EventKind.Sealed);
  return seal ? Buffer.from(seal.detail).toString('utf8') : undefined;
}

async function writeAndCommit(
  session: CarrierSession,
  info: LockInfo,
  manifest: PairingManifest,
  steps: PairingSteps,
  rewrite: { used: boolean },
  report: (phase: PairingPhase, staged?: number) => void,
  log: Logger,
): Promise<void> {
  const total = manifest.bytes.byteLength;
  let from = info.staged > 0 && info.staged <= total ? info.staged : 0;
  for (;;) {
    if (from > 0) {
      steps.resumedFrom.push(from);
      log.info({ lockId: info.id, offset: from, size: total }, 'continuing the staging area the lock holds');
    }
    report('write', from);
    await writeStaged(session, manifest.bytes, {
      from,
      onProgress: (staged, size) => report('write', Math.min(staged, size)),
    });
    steps.bytesWritten += total - from;
    report('commit', total);
    try {
      steps.committed = await session.commitManifest(total, manifest.sha256);
      log.info({ lockId: info.id, ecount: steps.committed.ecount }, 'manifest committed');
      return;
    } catch (err) {
      const mismatch = isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.HashMismatch;
      if (!mismatch) throw err;
      if (rewrite.used) {
        throw new CtopError(
          'E_PAIRING_COMMIT',
          `lock ${info.id} refused COMMIT twice: its staged bytes do not hash to the manifest`,
          { cause: err, details: { lockId: info.id } },
        );
      }
      // The staging area held someone else's bytes (or a damaged prefix): write it all.
      rewrite.used = true;
      log.warn(
        { lockId: info.id },
        'COMMIT found the staged bytes not ours; writing the manifest again from 0',
      );
      from = 0;
    }
  }
}

function unixSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
