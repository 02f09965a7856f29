import { type Clock, clockSleep, clockTimeout, systemClock } from '../clock.js';
import { CtopError, type ErrorCode, isCtopError, toCtopError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { LockInfo } from './codec/messages.js';
import { type ChainProblem, type LockEvent, verifyEventChain } from './event-log.js';
import { ManifestAssembly } from './manifest-assembly.js';
import { ReadWatch } from './read-watch.js';
import {
  type AuthProof,
  emptySessionStats,
  LockSession,
  type SessionOptions,
  type SessionStats,
} from './session.js';
import type { LinkOpener, LockLink } from './transport/link.js';

export interface ReadCheckpoint {
  lockId: string;
  manifestHash: Uint8Array;
  size: number;
  /** The verified prefix of the manifest. */
  prefix: Uint8Array;
}

export type ReadPhase =
  | 'connecting'
  | 'hello'
  | 'auth'
  | 'manifest'
  | 'events'
  | 'retrying'
  | 'done'
  | 'failed';

export interface ReadProgress {
  phase: ReadPhase;
  lockId?: string;
  /** Verified manifest bytes so far. */
  bytes: number;
  /** Manifest size; 0 until HELLO. */
  total: number;
  /** Link attempt, from 1. */
  attempt: number;
  retransmits: number;
  error?: CtopError;
}

export interface ReadLockOptions extends SessionOptions {
  /** Opens a link to the lock; called again for every retry. */
  open: LinkOpener;
  /** Links opened at most. Default 6. */
  attempts?: number;
  /** Pause before opening the next link: base × 2^(attempt-1), capped. Default 200 / 5000 ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** The identity key pinned for this lock, if known. */
  pinnedKey?: Uint8Array;
  /** The key pinned for the lock id HELLO announces (a provisioning list), when `pinnedKey` is not given. */
  pinnedKeyFor?: (lockId: string) => Uint8Array | undefined;
  /** Refuse a lock with no pinned key (E_LOCK_NOT_PINNED) instead of reading it as "first use, not pinned". */
  requirePin?: boolean;
  /** The lock id the device claimed before connecting (its BLE advertisement); HELLO must agree. */
  expectedLockId?: string;
  /** A partial read to continue (from a checkpoint stored before a restart). */
  checkpoint?: ReadCheckpoint;
  onProgress?: (progress: ReadProgress) => void;
  /**
   * Waits until this read may move its manifest's bytes, and returns the release (called
   * once they are read, or the link is lost). A train reader lets a few reads move bytes at
   * once, the lock with least time left in range next; the others keep their links up. A turn
   * refused (the promise rejects) ends the read with that error, no further link opened: the
   * turn's owner knows the read cannot finish (its lock is leaving range).
   */
  manifestTurn?: () => Promise<() => void>;
  /** Aborting ends the read at the next step; the result carries a checkpoint. */
  signal?: AbortSignal;
  /**
   * No valid answer for this long ends the read, whatever links and retransmissions are left
   * (PROTOCOL.md §10). Default 15 s, at most 30 s. Runs on `clock`.
   */
  readDeadlineMs?: number;
}

export interface ReadStats extends SessionStats {
  /** Links opened (attempts that got as far as a link). */
  links: number;
  /** Offsets at which a new link continued a partial manifest. */
  resumedFrom: number[];
}

export interface LockReadResult {
  transport: LockLink['kind'] | 'unknown';
  endpoint: string;
  startedAt: number;
  finishedAt: number;
  outcome: 'complete' | 'failed';
  error?: CtopError;
  info?: LockInfo;
  /** The lock proved possession of `info.key` in this read. */
  auth?: AuthProof;
  /** `info.key` was checked against a pinned key (else: first use, not pinned). */
  pinned?: boolean;
  /** Exactly the bytes read, after the end-to-end SHA-256 check. */
  manifest?: Buffer;
  events: LockEvent[];
  /** Continuity and signature problems of the event log (empty when intact). */
  chainProblems: ChainProblem[];
  stats: ReadStats;
  /** Where to continue when the read failed part-way through the manifest. */
  checkpoint?: ReadCheckpoint;
}

/** Errors a new link may cure. Anything else is the lock's fault and is final. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_LOCK_TIMEOUT',
  'E_LOCK_DISCONNECTED',
  'E_TRANSPORT_OPEN',
  'E_BLE_CONNECT',
  'E_LINE_SLOW',
  'E_LINE_TOO_LONG',
  'E_FRAME_REPLAY',
  'E_FRAME_SEQ',
  'E_FRAME_CRC',
  'E_FRAME_LENGTH',
  'E_FRAME_ENCODING',
  'E_FRAME_BODY',
]);

export function isRetryable(err: unknown): boolean {
  return isCtopError(err) && RETRYABLE.has(err.code);
}

/**
 * Reads one lock completely: HELLO, AUTH, the manifest (windowed, resumed from the last
 * verified offset on every new link), the event log. Never throws for the lock's faults:
 * the result says `failed` with a typed error, and what was verified so far.
 */
export async function readLock(options: ReadLockOptions): Promise<LockReadResult> {
  const clock: Clock = options.clock ?? systemClock;
  const log = (options.log ?? silentLogger).child({ component: 'lock-reader' });
  const attempts = options.attempts ?? 6;
  const stats: ReadStats = { ...emptySessionStats(), links: 0, resumedFrom: [] };
  const result: LockReadResult = {
    transport: 'unknown',
    endpoint: '',
    startedAt: clock.now(),
    finishedAt: 0,
    outcome: 'failed',
    events: [],
    chainProblems: [],
    stats,
  };
  let assembly = options.checkpoint
    ? new ManifestAssembly(
        options.checkpoint.size,
        options.checkpoint.manifestHash,
        options.checkpoint.prefix,
      )
    : undefined;
  let lockId = options.checkpoint?.lockId;
  let hashRetried = false;
  let attempt = 0;
  // One watch over every link of this read: the deadline, the malformed run and the replay
  // bound of §9.2/§10 end the read, not just the link.
  const watch = new ReadWatch({
    ...(options.readDeadlineMs !== undefined ? { deadlineMs: options.readDeadlineMs } : {}),
    ...(options.maxStrayFrames !== undefined ? { maxUnmatched: options.maxStrayFrames } : {}),
    schedule: (fn, ms) => {
      const timer = clockTimeout(clock, fn, ms);
      return () => timer.cancel();
    },
  });
  const report = (phase: ReadPhase, error?: CtopError) =>
    options.onProgress?.({
      phase,
      ...(lockId ? { lockId } : {}),
      bytes: assembly?.verifiedBytes ?? 0,
      total: assembly?.size ?? result.info?.msize ?? 0,
      attempt,
      retransmits: stats.retransmits,
      ...(error ? { error } : {}),
    });

  for (attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) {
      result.error = new CtopError('E_TRANSPORT_CLOSED', 'read aborted', { details: { canceled: true } });
      break;
    }
    report('connecting');
    let session: LockSession | undefined;
    let turnRefused = false;
    try {
      const link = await openWithin(options.open, watch, clock);
      result.transport = link.kind;
      result.endpoint = link.endpoint;
      stats.links++;
      session = new LockSession(link, { ...options, watch });
      const abort = () => void session?.close();
      options.signal?.addEventListener('abort', abort, { once: true });
      try {
        report('hello');
        const info = await session.hello();
        if (options.expectedLockId !== undefined && info.id !== options.expectedLockId) {
          result.info = info;
          throw new CtopError(
            'E_LOCK_IMPERSONATION',
            `the device advertised lock ${options.expectedLockId} but answers as ${info.id}`,
            { details: { advertised: options.expectedLockId, answered: info.id, endpoint: link.endpoint } },
          );
        }
        if (lockId && info.id !== lockId) {
          log.warn({ was: lockId, now: info.id }, 'a different lock answers on this link; starting over');
          assembly = undefined;
        }
        lockId = info.id;
        result.info = info;
        report('auth');
        const pin = options.pinnedKey ?? options.pinnedKeyFor?.(info.id);
        if (!pin && options.requirePin) {
          throw new CtopError('E_LOCK_NOT_PINNED', `no identity key is pinned for lock ${info.id}`, {
            details: { lockId: info.id, presented: Buffer.from(info.key).toString('hex') },
          });
        }
        result.auth = await session.authenticate(pin);
        result.pinned = pin !== undefined;

        if (!assembly?.matches(info.msize, info.mhash)) {
          assembly = info.msize > 0 ? new ManifestAssembly(info.msize, info.mhash) : undefined;
        } else if (assembly.verifiedBytes > 0 && !assembly.complete) {
          stats.resumedFrom.push(assembly.verifiedBytes);
          log.info({ lockId, offset: assembly.verifiedBytes, size: assembly.size }, 'resuming manifest read');
        }
        if (assembly) {
          // 'manifest' once bytes may move: a read waiting for its turn is still at 'auth'.
          const release = assembly.complete
            ? undefined
            : await turnFor(options.manifestTurn, session, () => {
                turnRefused = true;
              });
          report('manifest');
          try {
            await session.readManifest(assembly, () => report('manifest'));
          } finally {
            release?.();
          }
          try {
            result.manifest = assembly.verify();
          } catch (err) {
            if (isCtopError(err, 'E_LOCK_HASH') && !hashRetried) {
              // One full re-read: a bit flipped in a chunk that passed its CRC is rare but possible.
              hashRetried = true;
              log.warn({ lockId, ...err.toLog() }, 'manifest hash mismatch; reading it again from the start');
              assembly = undefined;
              await session.close();
              attempt--;
              continue;
            }
            throw err;
          }
        }
        report('events');
        result.events = await session.readEvents();
        result.chainProblems = verifyEventChain(info.id, info.key, result.events, {
          count: info.ecount,
          head: info.ehead,
        });
        await session.bye();
        result.outcome = 'complete';
        delete result.error;
        break;
      } finally {
        options.signal?.removeEventListener('abort', abort);
      }
    } catch (err) {
      // What ended the read (the deadline, a malformed run, too many replays) is the cause.
      const e = watch.ended ?? toCtopError(err);
      result.error = e;
      await session?.close();
      const retry =
        !watch.ended && !turnRefused && isRetryable(e) && attempt < attempts && !options.signal?.aborted;
      log[retry ? 'info' : 'warn'](
        { ...e.toLog(), lockId, attempt, verified: assembly?.verifiedBytes ?? 0 },
        retry ? `read attempt failed, retrying: ${e.message}` : `read failed: ${e.message}`,
      );
      if (!retry) break;
      report('retrying', e);
      const pause = Math.min(
        options.backoffMaxMs ?? 5000,
        (options.backoffBaseMs ?? 200) * 2 ** (attempt - 1),
      );
      await clockSleep(clock, pause, options.signal);
      if (watch.ended) {
        result.error = watch.ended;
        break;
      }
    } finally {
      if (session) addStats(stats, session.stats);
    }
  }

  watch.stop();
  result.finishedAt = clock.now();
  if (result.outcome === 'failed' && assembly && lockId && assembly.verifiedBytes > 0 && !assembly.complete) {
    result.checkpoint = {
      lockId,
      manifestHash: assembly.sha256,
      size: assembly.size,
      prefix: Buffer.from(assembly.prefix()),
    };
  }
  report(result.outcome === 'complete' ? 'done' : 'failed', result.error);
  return result;
}

/**
 * Opens a link unless the read ends first: an opener that never settles — a driver stuck
 * below us — cannot hold the read for good. An opening that takes the whole read deadline
 * ends the read (PROTOCOL.md §10); the transports' default connect timeouts fit within the
 * default deadline (BLE: 10 s to connect, 5 s for GATT). A link that arrives after the read
 * ended is closed.
 */
async function openWithin(open: LinkOpener, watch: ReadWatch, clock: Clock): Promise<LockLink> {
  if (watch.ended) throw watch.ended;
  let ended: CtopError | undefined;
  const opening = open();
  const timer = clockTimeout(
    clock,
    () =>
      watch.giveUp(
        new CtopError('E_LOCK_TIMEOUT', `no link within ${watch.deadlineMs / 1000} s (read deadline)`, {
          details: { deadlineMs: watch.deadlineMs, final: true },
        }),
      ),
    watch.deadlineMs,
  );
  const result = await Promise.race([
    opening,
    watch.whenEnded().then((err) => {
      ended = err;
    }),
  ]).finally(() => timer.cancel());
  if (ended !== undefined || result === undefined) {
    opening.then(
      (late) => void late.close(),
      () => undefined,
    );
    throw ended ?? watch.ended;
  }
  return result;
}

/**
 * The read's turn to move manifest bytes, unless the session ends first (the link dropped
 * while it waited): then the session's failure, and a turn granted later is passed on at once.
 */
async function turnFor(
  turn: ReadLockOptions['manifestTurn'],
  session: LockSession,
  onRefused: () => void,
): Promise<(() => void) | undefined> {
  if (!turn) return undefined;
  const granted = turn();
  try {
    return await Promise.race([
      granted.catch((err: unknown) => {
        onRefused();
        throw err;
      }),
      session.ended,
    ]);
  } catch (err) {
    granted.then(
      (release) => release(),
      () => undefined, // the turn itself failed: that is the error thrown
    );
    throw err;
  }
}

function addStats(total: ReadStats, s: SessionStats): void {
  for (const key of Object.keys(s) as (keyof SessionStats)[]) total[key] += s[key];
}
