import { EventEmitter } from 'node:events';
import { type Clock, clockSleep, clockTimeout, systemClock } from '../clock.js';
import { CtopError } from '../errors.js';
import {
  isRetryable,
  type LockReadResult,
  type ReadCheckpoint,
  type ReadProgress,
  readLock,
} from '../lock/reader.js';
import type { SessionOptions } from '../lock/session.js';
import type { BleLink } from '../lock/transport/ble-link.js';
import type { BleRadio, LockSighting } from '../lock/transport/ble-radio.js';
import { type Logger, silentLogger } from '../log.js';
import { DwellEstimate, RecentMedian } from './dwell.js';
import { ManifestTurns } from './manifest-turns.js';
import { type LockProgress, type LockReadState, TrainBoard, type TrainSummary } from './train-board.js';

export interface TrainReaderOptions extends Omit<SessionOptions, 'log' | 'clock'> {
  radio: BleRadio;
  /** Simultaneous connections: the controller's limit. Default 5. */
  maxConcurrent?: number;
  /**
   * Reads that move manifest bytes at the same time. Default 2. The other links connect, set
   * up GATT, say HELLO and AUTH meanwhile and wait with their link up, the lock that arrived
   * first next: every link moving bytes takes an equal share of the radio's air (and the
   * scanner another), so four at once each finish four times later than one alone, and the
   * lock with least time left finishes last with the rest (docs/BLE-SIM.md, the speed curve).
   */
  manifestsAtOnce?: number;
  /** Locks the train is expected to carry; the summary reports missing ones. */
  expected?: number;
  /** Reads of one lock before it is given up (each may open a few links). Default 5. */
  passesPerLock?: number;
  /** Links one pass opens at most. Default 2. */
  linksPerPass?: number;
  /** Pause before the next pass of a lock: base × 2^(pass−1). Default 300 ms. */
  backoffBaseMs?: number;
  /**
   * A lock not heard for this long of listening has left range. Default 5 s. So has one
   * unheard for twice as long by the clock, listening or not (a radio that spends most of
   * its time connecting must not keep departed locks queued); and once the train's dwell is
   * known, one unheard for longer than the dwell.
   */
  goneAfterMs?: number;
  /**
   * Connect only to a lock heard within this long of listening. Default 1 s: at 100 ms
   * advertising a lock in range is heard several times a second of scanning, and a
   * connection to one that has left waits out the whole connect timeout — with the one
   * initiator busy, and the radio deaf on a controller that cannot scan while it connects
   * (noble stops scanning to connect). Time the radio did not listen
   * is weak evidence (in a standing train every lock goes unheard then), so the clock's
   * bound is three times as long — still short of the time a lock passing at 40 km/h stays
   * in range (5 s), so a radio busy connecting does not chase locks that have left; once the
   * train's dwell is known, the clock's bound is this one.
   */
  connectHeardWithinMs?: number;
  /**
   * The shortest connect timeout given to a lock about to leave range, and the timeout of a
   * read's further links after a drop. Default 2 s: a lock in range answers a connection
   * request within a few advertising and connection intervals.
   * Once three locks of a train have left, a connection attempt waits no longer than the time
   * the lock has left (the train's dwell, learnt from those, minus the lock's time in range),
   * nor less than this; before that, `maxConnectTimeoutMs`.
   */
  minConnectTimeoutMs?: number;
  /**
   * The longest a connection attempt waits. Default 4 s: a lock heard within the last second
   * advertises every 100 ms or so and is connected within a second even when the links leave
   * the initiator a tenth of the air; one that is not has most likely left, and no other lock
   * is connected while it waits (one initiator). A lock still here is tried again when next
   * heard.
   */
  maxConnectTimeoutMs?: number;
  /**
   * The signal, dBm, below which a lock is at the edge of range (see leavingDropDb). Default
   * −90 (5 dB above a typical −95 dBm receiver). A weak lock that is not leaving is connected
   * at once: in a moving train it is coming closer, and the time it spends in range is what a
   * fast train's reads run short of — left a second to come closer, at 80 km/h a fifth of its
   * time in range, 85 of 110 locks were read on average (eight passages) instead of 100 (24)
   * (docs/BLE-SIM.md, "Connecting the edge at once").
   */
  weakRssiDbm?: number;
  /**
   * In a moving train (once locks have left), a lock whose smoothed signal is weaker than
   * `weakRssiDbm` and this many dB below its peak is moving away at the edge of range: it is
   * not connected to. Default 3. At 40 km/h such a lock has about a second left, less than a
   * read needs, and an attempt that fails keeps the controller's one initiator busy for the
   * whole connect timeout while locks that could be read pass.
   */
  leavingDropDb?: number;
  /**
   * A lock falls silent as a departure — a sample of the train's dwell — only when it was
   * last heard weaker than this, dBm: a lock leaves range through its edge, where its signal
   * nears the receiver's sensitivity. Default −80 (10 dB above `weakRssiDbm`'s default):
   * in the speed bench's trains 3 locks of 878 were last heard at −80 dBm or stronger (60
   * and 107 km/h, four passages each; scripts/bench/train/departures.ts). A lock heard
   * strong and then unheard has not moved
   * away; the radio did not listen (links holding the air), or something stood between.
   * Taken for a departure, its silence gave a standing train a dwell of a few seconds, and
   * reads waiting for their manifest turn were given up as out of time.
   */
  departureRssiDbm?: number;
  /**
   * Listening the radio gets after a connection attempt that failed, before the next, ms.
   * Default 250: a few advertising intervals, so the rest of the train is heard however many
   * attempts fail.
   */
  listenBetweenAttemptsMs?: number;
  /**
   * The train has passed when every lock is settled and nothing new was heard for this long.
   * Default 8 s. Once the train is known to move, for at least as long as its locks stay in
   * range (its dwell): while a train passes, a new lock comes into range more often than
   * that, and at the edge a lock is first heard seconds late at times — at 10 km/h, with a
   * wagon every 5.4 s, the next pair was first heard 8.4 s after the last in one run of
   * three, and an 8 s rule cut the train in two.
   */
  trainQuietMs?: number;
  /** Stores a read (the daemon: ingestRead); returns whether the manifest verified. */
  ingest?: (result: LockReadResult, sighting: LockSighting) => { verified: boolean } | undefined;
  /** True when this lock was read before with the same manifest and event log: skip it. */
  isUnchanged?: (sighting: LockSighting) => boolean;
  /** A partial read stored earlier (after a restart), to resume. */
  checkpointFor?: (lockId: string) => ReadCheckpoint | undefined;
  /** No valid answer for this long ends a read of one lock (PROTOCOL.md §10). Default 15 s. */
  readDeadlineMs?: number;
  /** The identity key pinned for a lock id, if any. */
  pinnedKeyFor?: (lockId: string) => Uint8Array | undefined;
  /** Every step of every read (the phases of readLock), for benches and traces. */
  onReadProgress?: (address: string, progress: ReadProgress) => void;
  log?: Logger;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface TrainReaderEvents {
  lock: [LockProgress];
  'train-start': [{ trainId: string; startedAt: number }];
  'train-end': [TrainSummary];
}

interface Candidate {
  sighting: LockSighting;
  passes: number;
  nextEligibleAt: number;
  checkpoint?: ReadCheckpoint;
  lastError?: CtopError;
  /** Given up as gone (not heard for `goneAfterMs`) with passes left: heard again, it is read again. */
  givenUpAsGone?: boolean;
  /**
   * When a link to the lock was last known up (clock): a connected lock does not advertise,
   * yet it is as good as heard — its silence counts from the end of the link.
   */
  linkedUntil?: number;
  /**
   * The radio's listening time when the last connection attempt to the lock ended. While the
   * initiator waits for a lock, the advertisements it catches answer the request instead of
   * reaching the scanner: that listening is not the lock's silence. A lock at the edge of
   * range, heard once in a few seconds, would otherwise be given up as gone after a couple of
   * attempts, while it is still coming closer.
   */
  attemptEndedAtListenMs?: number;
  /** The same on the clock. */
  attemptEndedAt?: number;
  /** When the current pass started (clock). */
  passStartedAt?: number;
  /** Why the lock was passed over when it was last eligible (leaving, too little time left). */
  notTried?: CtopError;
  /**
   * A read of the lock gave its link up while waiting for a manifest turn: the lock had less
   * time left than a manifest takes. It is started again only as a new lock would be (#tooLate).
   */
  outOfTime?: boolean;
}

/** When the lock was last known in range by the clock: heard, or linked. */
function lastKnownAt(c: Candidate): number {
  return Math.max(c.sighting.lastSeenAt, c.linkedUntil ?? Number.NEGATIVE_INFINITY);
}

/** Why a lock moving away at the edge of range is not connected to. */
function leavingError(s: LockSighting): CtopError {
  return new CtopError(
    'E_BLE_CONNECT',
    `lock ${s.advertisement.lockId} is leaving range (${Math.round(s.meanRssi)} dBm, ` +
      `${Math.round(s.peakMeanRssi - s.meanRssi)} dB below its peak): not connecting`,
    {
      details: {
        address: s.address,
        meanRssi: Math.round(s.meanRssi),
        peakMeanRssi: Math.round(s.peakMeanRssi),
      },
    },
  );
}

/** Codes after which reading the same device again cannot help. */
const FINAL_FOR_THE_LOCK = new Set([
  'E_LOCK_CLONED',
  'E_LOCK_IMPERSONATION',
  'E_LOCK_OVERSIZE',
  'E_LOCK_HASH',
  'E_LOCK_VERSION',
]);

/**
 * Reads every lock of a train rolling past (issue 6): discovers them by advertisement,
 * reads up to the controller's connection limit at once — oldest arrivals first, the
 * strongest signal first among those that arrived together — retries with back-off while a
 * lock is still in range, resumes partial manifests from their verified prefix, skips locks
 * already read with an unchanged manifest and event log, and re-reads those that changed.
 */
export class TrainReader extends EventEmitter<TrainReaderEvents> {
  readonly board: TrainBoard;
  readonly #o: TrainReaderOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #candidates = new Map<string, Candidate>();
  readonly #active = new Set<string>();
  readonly #controllers = new Set<AbortController>();
  /** This train's dwell in range, from the locks that left. */
  readonly #dwell = new DwellEstimate();
  /** Locks taken for gone, each once: when, and the dwell it gave (none when last heard strong). */
  readonly #departed = new Map<string, { at: number; dwellMs: number | undefined }>();
  /** How long this train's reads take, from a pass's start to the verified manifest. */
  readonly #readTimes = new RecentMedian(16);
  /** How long this train's manifests take to move once their turn comes (turn to release, whole manifests). */
  readonly #manifestTimes = new RecentMedian(16);
  readonly #turns: ManifestTurns;
  #timer: NodeJS.Timeout | undefined;
  /**
   * Connection attempts under way (until connected or failed, not through the GATT set-up),
   * a read about to make its first counted from its start.
   */
  #opening = 0;
  /**
   * Reads whose link dropped, waiting for their lock to be connected again from the Filter
   * Accept List (listed first): the read's candidate, and where its link goes.
   */
  readonly #relinks = new Map<string, { c: Candidate; resolve: (link: Promise<BleLink>) => void }>();
  /** The attempt from the Filter Accept List under way: the locks listed, and how to give it up. */
  #listed: { addresses: Set<string>; controller: AbortController } | undefined;
  /** Listening time when the last connection attempt that failed ended. */
  #listenedAtAttemptEnd = Number.NEGATIVE_INFINITY;
  #lastHeardNew = 0;
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  readonly #onSighting = (s: LockSighting) => this.#sighted(s);

  constructor(options: TrainReaderOptions) {
    super();
    this.#o = options;
    this.#log = (options.log ?? silentLogger).child({ component: 'train-reader' });
    this.#clock = options.clock ?? systemClock;
    this.board = new TrainBoard(this.#clock, options.expected);
    this.#turns = new ManifestTurns(options.manifestsAtOnce ?? 2);
  }

  /**
   * This train's dwell in range as estimated from the locks that left it, ms; undefined while
   * too few have (a standing train, the first locks of a moving one).
   */
  get dwellMs(): number | undefined {
    return this.#dwell.dwellMs;
  }

  /** Reads moving manifest bytes now: each holds one of the `manifestsAtOnce` turns. */
  get manifestsMoving(): number {
    return this.#turns.busy;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#o.radio.on('sighting', this.#onSighting);
    for (const s of this.#o.radio.sightings.values()) this.#sighted(s);
    await this.#o.radio.startScanning();
    this.#timer = setInterval(() => this.#tick(), 200);
  }

  /** Stops scanning, aborts reads in flight (their checkpoints are kept) and waits for them. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#o.radio.off('sighting', this.#onSighting);
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.#controllers) c.abort();
    await this.#idle;
    await this.#o.radio.stopScanning().catch(() => undefined);
    if (this.board.current) this.#endTrain();
  }

  /** Resolves with the summary of the next train to pass completely. */
  nextTrain(): Promise<TrainSummary> {
    return new Promise((resolve) => this.once('train-end', resolve));
  }

  #sighted(s: LockSighting): void {
    if (!this.#running) return;
    // Durations (back-off, the quiet that ends a train) on the monotonic clock: the gateway's
    // wall clock may be stepped mid-train (NTP after boot, GPS), and a step of minutes would
    // otherwise end the train or fail every queued lock at once.
    const now = this.#clock.monotonic();
    if (!this.board.current) {
      const train = this.board.startTrain(this.#clock.now());
      this.#log.info({ trainId: train.trainId }, 'a train is passing');
      this.emit('train-start', { trainId: train.trainId, startedAt: train.startedAt });
    }
    const existing = this.#candidates.get(s.address);
    const entry = this.board.lock(s.address);
    if (existing && entry && ['read', 'skipped'].includes(entry.state)) {
      // The advertisement changed after we read it (a new event, a new manifest): read again.
      this.#log.info({ lockId: s.advertisement.lockId }, 'lock changed since it was read; reading it again');
    } else if (existing) {
      existing.sighting = s;
      return;
    }
    this.#lastHeardNew = now;
    const checkpoint = this.#o.checkpointFor?.(s.advertisement.lockId);
    this.#candidates.set(s.address, {
      sighting: s,
      passes: 0,
      nextEligibleAt: now,
      ...(checkpoint ? { checkpoint } : {}),
    });
    if (this.#o.isUnchanged?.(s)) {
      this.#update(s, 'skipped');
      return;
    }
    this.#update(s, 'queued');
    this.#tick();
  }

  #tick(): void {
    if (!this.#running) return;
    const now = this.#clock.monotonic();
    const goneAfter = this.#o.goneAfterMs ?? 5000;
    for (const [address, c] of this.#candidates) {
      const state = this.board.lock(address)?.state;
      // Unheard for `goneAfter` of listening; or, once the train's dwell is known (it moves),
      // unheard for longer than a lock stays in range, listening or not — a radio busy
      // connecting to others must not keep a departed lock queued.
      const dwell = this.#dwell.dwellMs;
      // Silence counts from the end of the last attempt to the lock too (see attemptEndedAtListenMs).
      const unheardMs = now - Math.max(lastKnownAt(c), c.attemptEndedAt ?? Number.NEGATIVE_INFINITY);
      const gone =
        this.#o.radio.listenedMs() - Math.max(c.sighting.heardAtListenMs, c.attemptEndedAtListenMs ?? 0) >
          goneAfter ||
        unheardMs > 2 * goneAfter ||
        (dwell !== undefined && unheardMs > Math.max(goneAfter, dwell));
      // Heard since it was taken for gone: it had not left (in a standing train of a hundred
      // locks, a queued one goes unheard for seconds while the links take the air), and its
      // "dwell" would give the train one of a few seconds — every older lock passed over, and
      // reads given up, as out of time.
      const departed = this.#departed.get(address);
      if (departed && lastKnownAt(c) > departed.at) {
        this.#departed.delete(address);
        if (departed.dwellMs !== undefined) this.#dwell.withdraw(departed.dwellMs);
      }
      // A lock being read is silent because it is linked (a read may wait its manifest turn
      // with its link up for seconds): that silence says nothing of when it left.
      if (gone && !this.#departed.has(address) && !this.#active.has(address)) {
        const dwellMs = c.sighting.lastSeenAt - c.sighting.firstSeenAt;
        const nearEdge = c.sighting.meanRssi < (this.#o.departureRssiDbm ?? -80);
        this.#departed.set(address, { at: now, dwellMs: nearEdge ? dwellMs : undefined });
        if (nearEdge) this.#dwell.add(dwellMs);
      }
      if (state === 'failed' && c.givenUpAsGone && !gone && c.passes < (this.#o.passesPerLock ?? 5)) {
        // Heard again after it was taken for gone: a lock at the edge of range, or one the
        // radio missed for a while. It is still here, so it is read.
        c.givenUpAsGone = false;
        c.nextEligibleAt = now;
        this.#log.info(
          { lockId: c.sighting.advertisement.lockId },
          'lock heard again after it was given up as gone',
        );
        this.#update(c.sighting, 'retrying', c.lastError ? { error: c.lastError } : {});
        continue;
      }
      if ((state === 'queued' || state === 'retrying') && gone) {
        const error =
          c.lastError ??
          c.notTried ??
          new CtopError(
            'E_BLE_CONNECT',
            `lock ${c.sighting.advertisement.lockId} left range before it was read`,
          );
        c.givenUpAsGone = true;
        this.#update(c.sighting, 'failed', { error });
      }
    }
    const max = this.#o.maxConcurrent ?? 5;
    // One connection attempt at a time: the radio would queue the rest, and the next lock is
    // better chosen when the radio is free than seconds before. And never blind: after an attempt that did not connect the radio listens a while, or a
    // run of attempts to locks that have left keeps it deaf to the rest of the train.
    const listenBetween = this.#o.listenBetweenAttemptsMs ?? 250;
    if (this.#fromList) {
      this.#replan(now, max);
      if (this.#opening === 0 && this.#o.radio.listenedMs() - this.#listenedAtAttemptEnd >= listenBetween) {
        const listed = this.#wanted(now, max);
        if (listed.length > 0) this.#openFirst(listed, now);
      }
    }
    while (
      !this.#fromList &&
      this.#active.size < max &&
      this.#opening === 0 &&
      this.#o.radio.listenedMs() - this.#listenedAtAttemptEnd >= listenBetween
    ) {
      const next = this.#eligible(now)[0];
      if (!next) break;
      this.#read(next);
    }
    const train = this.board.current;
    const quiet = Math.max(this.#o.trainQuietMs ?? 8000, this.#dwell.dwellMs ?? 0);
    if (train && this.#active.size === 0 && now - this.#lastHeardNew > quiet && this.board.settled()) {
      this.#endTrain();
    }
  }

  /**
   * The locks worth connecting to now, best first: oldest arrivals first (in 2-second
   * buckets), the strongest signal first within a bucket; only locks heard lately (a silent
   * one waits until heard again, or is given up as gone); in a moving train none leaving at
   * the edge of range, and no new one with less time left than a read takes.
   */
  #eligible(now: number): Candidate[] {
    const heardWithin = this.#o.connectHeardWithinMs ?? 1000;
    const eligible: Candidate[] = [];
    for (const [address, c] of this.#candidates) {
      const state = this.board.lock(address)?.state;
      if ((state !== 'queued' && state !== 'retrying') || this.#active.has(address) || c.nextEligibleAt > now)
        continue;
      if (this.#o.radio.listenedMs() - c.sighting.heardAtListenMs > heardWithin) continue;
      // By the clock too: a second of listening may be many seconds ago when the radio was
      // busy connecting.
      if (now - lastKnownAt(c) > this.#heardWithinByClock()) continue;
      if (this.#leaving(c)) {
        c.notTried = leavingError(c.sighting);
        continue;
      }
      if (this.#tooLate(c, now)) continue;
      eligible.push(c);
    }
    const bucket = (c: Candidate) => Math.floor(c.sighting.firstSeenAt / 2000);
    return eligible.sort((a, b) => bucket(a) - bucket(b) || b.sighting.rssi - a.sighting.rssi);
  }

  /**
   * Whether connections come from the controller's Filter Accept List (BleRadio.openFirst):
   * every lock worth connecting to listed and the first heard connected, instead of one named
   * lock at a time. The radio says whether the controller has one (or was told not to use it).
   */
  get #fromList(): boolean {
    return this.#o.radio.acceptListSize > 0;
  }

  /**
   * What to list: the locks of reads waiting to be connected again first (their read is under
   * way, part of the manifest often verified), then, while a link is free, those worth
   * starting; as many as the controller's list holds.
   */
  #wanted(now: number, max: number): Candidate[] {
    const relinks = [...this.#relinks.values()].map((r) => r.c);
    const fresh = this.#active.size < max ? this.#eligible(now) : [];
    return [...relinks, ...fresh].slice(0, this.#o.radio.acceptListSize);
  }

  /**
   * A link again for a read whose link dropped at `since`: the lock listed until it is
   * connected, or `connectHeardWithinMs` by the clock have passed — a lock still in range
   * advertises again as soon as its link is gone; one that left never answers.
   */
  #relink(c: Candidate, since: number, linked: boolean, signal: AbortSignal): Promise<BleLink> {
    const within = this.#o.connectHeardWithinMs ?? 1000;
    const { address } = c.sighting;
    return new Promise<BleLink>((resolve, reject) => {
      const fail = (error: CtopError) => {
        if (this.#relinks.get(address)?.resolve !== settle) return;
        this.#relinks.delete(address);
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        reject(error);
        queueMicrotask(() => this.#tick());
      };
      const settle = (link: Promise<BleLink>) => {
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        resolve(link);
      };
      const timer = clockTimeout(
        this.#clock,
        () =>
          fail(
            new CtopError(
              'E_BLE_CONNECT',
              `lock ${c.sighting.advertisement.lockId} not heard within ${within} ms after ` +
                `${linked ? 'its link dropped' : 'a connection attempt that failed'}: not trying again`,
              { details: { address } },
            ),
          ),
        Math.max(0, since + within - this.#clock.monotonic()),
      );
      const onAbort = () => fail(new CtopError('E_BLE_CONNECT', 'read stopped', { details: { address } }));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#relinks.set(address, { c, resolve: settle });
      queueMicrotask(() => this.#tick());
    });
  }

  /**
   * Connects to whichever of `listed` the controller hears first (its Filter Accept List),
   * then reads it. The list is what was worth connecting to when the attempt went out; when
   * that changes (a lock arrives or leaves), #replan gives the attempt up for a new list.
   */
  #openFirst(listed: Candidate[], now: number): void {
    const controller = new AbortController();
    const addresses = new Set(listed.map((c) => c.sighting.address));
    this.#listed = { addresses, controller };
    this.#controllers.add(controller);
    const abort = () => controller.abort();
    this.#o.signal?.addEventListener('abort', abort, { once: true });
    this.#opening++;
    // As long as the listed lock with most time left has (the list is renewed as locks leave it).
    const connectTimeoutMs = Math.max(
      ...listed.map((c) => this.#connectOptions(c, false).connectTimeoutMs ?? 0),
    );
    this.#o.radio
      .openFirst([...addresses], {
        connectTimeoutMs,
        signal: controller.signal,
        onAttemptOver: (address) => {
          this.#opening--;
          if (this.#listed?.controller === controller) this.#listed = undefined;
          const listenedMs = this.#o.radio.listenedMs();
          const at = this.#clock.monotonic();
          for (const c of listed) {
            c.attemptEndedAtListenMs = listenedMs;
            c.attemptEndedAt = at;
          }
          // A new list at once when this one was given up for it; after a timeout the radio listens a while.
          if (!address && !controller.signal.aborted) this.#listenedAtAttemptEnd = listenedMs;
          queueMicrotask(() => this.#tick());
        },
      })
      .then(({ address, link }) => {
        const relink = this.#relinks.get(address);
        if (relink) {
          this.#relinks.delete(address);
          relink.resolve(link);
          return;
        }
        const c = this.#candidates.get(address);
        const state = this.board.lock(address)?.state;
        if (
          !c ||
          !this.#running ||
          this.#active.has(address) ||
          (state !== 'queued' && state !== 'retrying')
        ) {
          link.then((l) => l.close()).catch(() => undefined);
          return;
        }
        this.#read(c, { link, startedAt: now });
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) this.#log.debug({ err }, 'no lock of the list connected');
      })
      .finally(() => {
        this.#o.signal?.removeEventListener('abort', abort);
        this.#controllers.delete(controller);
      });
  }

  /**
   * Gives up the attempt from the list when the locks worth connecting to are no longer the
   * ones listed: one left the list's reach (unheard, leaving, too late, being read), or one
   * worth reading arrived and the list has room for it or lists a lock behind it.
   */
  #replan(now: number, max: number): void {
    const pending = this.#listed;
    if (!pending || pending.controller.signal.aborted) return;
    const wanted = this.#wanted(now, max);
    const same =
      wanted.length === pending.addresses.size &&
      wanted.every((c) => pending.addresses.has(c.sighting.address));
    if (!same) pending.controller.abort();
  }

  /**
   * Reads a lock: first on `connected`, the link that came up from the Filter Accept List
   * (its GATT set-up under way; a failure there is this read's first failed link), then on
   * links of its own.
   */
  #read(c: Candidate, connected?: { link: Promise<BleLink>; startedAt: number }): void {
    const { address } = c.sighting;
    const lockId = c.sighting.advertisement.lockId;
    this.#active.add(address);
    c.passes++;
    c.passStartedAt = connected?.startedAt ?? this.#clock.monotonic();
    const controller = new AbortController();
    this.#controllers.add(controller);
    const abort = () => controller.abort();
    this.#o.signal?.addEventListener('abort', abort, { once: true });
    this.#update(c.sighting, 'connecting');
    const pinned = this.#o.pinnedKeyFor?.(lockId);
    // Counted from now: readLock asks for its first link asynchronously.
    if (!connected) this.#opening++;
    let firstOpen = !connected;
    /** This pass's link that came up last: the lock was in range until it ended. */
    let link: BleLink | undefined;
    let preconnected = connected?.link;
    /** When the last link ended (now, when it has not noticed yet). */
    const linkEnded = (): number => {
      const endedAt = link?.endedAt ?? this.#clock.monotonic();
      if (link) c.linkedUntil = endedAt;
      link = undefined;
      return endedAt;
    };
    /** This pass's manifest has come through whole (its turn's time is a manifest's time). */
    let manifestWhole = false;
    const settleFirst = () => {
      if (!firstOpen) return;
      firstOpen = false;
      this.#opening--;
    };
    const run = readLock({
      ...this.#o,
      open: async () => {
        if (preconnected) {
          const settingUp = preconnected;
          preconnected = undefined;
          link = await settingUp;
          return link;
        }
        const again = !firstOpen;
        firstOpen = false;
        const linked = link !== undefined;
        const endedAt = linkEnded(); // readLock asks again only once the last link is gone
        if (again && this.#fromList) {
          link = await this.#relink(c, endedAt, linked, controller.signal);
          return link;
        }
        if (again) {
          await this.#heardSince(c, endedAt, linked, controller.signal);
          this.#opening++;
        }
        let over = false;
        const attemptOver = (connected: boolean) => {
          if (over) return;
          over = true;
          this.#opening--;
          c.attemptEndedAtListenMs = this.#o.radio.listenedMs();
          c.attemptEndedAt = this.#clock.monotonic();
          if (!connected) this.#listenedAtAttemptEnd = this.#o.radio.listenedMs();
          queueMicrotask(() => this.#tick());
        };
        try {
          link = await this.#open(c, again, attemptOver);
          return link;
        } finally {
          attemptOver(false);
        }
      },
      attempts: this.#o.linksPerPass ?? 2,
      log: this.#log,
      clock: this.#clock,
      signal: controller.signal,
      ...(c.checkpoint ? { checkpoint: c.checkpoint } : {}),
      ...(pinned ? { pinnedKey: pinned } : {}),
      expectedLockId: lockId,
      manifestTurn: () => this.#manifestTurn(c, controller.signal, () => manifestWhole),
      onProgress: (p) => {
        this.#o.onReadProgress?.(address, p);
        if (p.phase === 'manifest') {
          manifestWhole = p.total > 0 && p.bytes >= p.total;
          this.#update(c.sighting, 'reading', { bytes: p.bytes, total: p.total });
        }
      },
    })
      .then((result) => this.#finished(c, result))
      .catch((err: unknown) => this.#log.error({ err }, 'train reader bug: a read threw'))
      .finally(() => {
        // A read stopped before it took the link it was handed: the link is closed, not left up.
        preconnected?.then((l) => l.close()).catch(() => undefined);
        preconnected = undefined;
        settleFirst();
        linkEnded();
        this.#o.signal?.removeEventListener('abort', abort);
        this.#controllers.delete(controller);
        this.#active.delete(address);
        this.#tick();
      });
    this.#idle = Promise.all([this.#idle, run]).then(() => undefined);
  }

  /**
   * A turn to move the manifest of `c`'s read, which waits for it with its link up — until
   * its lock, by the train's dwell, has less time left in range than a manifest takes: then
   * E_BLE_CONNECT, the read ends and its link is free. Above ~80 km/h locks arrive faster than
   * the turns come round; reads held their links up waiting while their locks left, and the
   * locks behind them found no link (100 km/h, three passages: 64–74 of 110 read, mean 68.7,
   * against 60; docs/BLE-SIM.md, "Giving a link up in time"). The released turn's time feeds the estimate
   * when `whole` says the manifest came through.
   */
  async #manifestTurn(c: Candidate, signal: AbortSignal, whole: () => boolean): Promise<() => void> {
    const waiting = new AbortController();
    const stop = () => waiting.abort();
    signal.addEventListener('abort', stop, { once: true });
    const granted = this.#turns.take(c.sighting.firstSeenAt, waiting.signal);
    let release: (() => void) | undefined;
    granted.then((r) => {
      release = r;
    });
    try {
      while (!release) {
        const outOfTime = signal.aborted ? undefined : this.#outOfTime(c);
        if (outOfTime) c.outOfTime = true;
        const refused = signal.aborted
          ? new CtopError('E_TRANSPORT_CLOSED', 'read aborted', { details: { canceled: true } })
          : outOfTime;
        if (refused) {
          waiting.abort();
          // Granted meanwhile (between the grant and this check): passed on.
          granted.then((r) => r());
          throw refused;
        }
        await Promise.race([granted, clockSleep(this.#clock, 50, waiting.signal)]);
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
    const grantedAt = this.#clock.monotonic();
    const turn = release;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (whole()) this.#manifestTimes.add(this.#clock.monotonic() - grantedAt);
      turn();
    };
  }

  /**
   * Why a read waiting for its manifest turn gives its link up: its lock has less time left in
   * range (the train's dwell minus its age) than this train's manifests take once their turn
   * comes. Undefined while either is unknown (a standing train, the first reads), and for a
   * lock still linked at twice the dwell (the train stopped: the estimate does not fit it).
   */
  #outOfTime(c: Candidate): CtopError | undefined {
    const manifestMs = this.#manifestTimes.median;
    const dwell = this.#dwell.dwellMs;
    if (manifestMs === undefined || dwell === undefined) return undefined;
    const left = dwell - (this.#clock.monotonic() - c.sighting.firstSeenAt);
    if (left >= manifestMs || left <= -dwell) return undefined;
    return new CtopError(
      'E_BLE_CONNECT',
      `lock ${c.sighting.advertisement.lockId} had ${(Math.max(0, left) / 1000).toFixed(2)} s left in range ` +
        `while its read waited for a manifest turn, less than a manifest takes (${(manifestMs / 1000).toFixed(2)} s): ` +
        'its link given up for locks that can still be read',
      {
        details: {
          address: c.sighting.address,
          leftMs: Math.round(left),
          manifestMs: Math.round(manifestMs),
        },
      },
    );
  }

  /**
   * Waits for an advertisement of the lock after `since` (its link dropped, or the attempt failed, then) — at most
   * `connectHeardWithinMs` by the clock — or throws E_BLE_CONNECT. A lock advertises again as
   * soon as its link is gone, so one still in range is heard within a few advertising
   * intervals; a link that dropped because the lock left range leaves silence, and a
   * reconnection to it would keep the initiator busy for its whole connect timeout.
   */
  async #heardSince(c: Candidate, since: number, linked: boolean, signal: AbortSignal): Promise<void> {
    const within = this.#o.connectHeardWithinMs ?? 1000;
    const until = since + within;
    while (c.sighting.lastSeenAt <= since) {
      if (signal.aborted || this.#clock.monotonic() >= until) {
        throw new CtopError(
          'E_BLE_CONNECT',
          `lock ${c.sighting.advertisement.lockId} not heard within ${within} ms after ` +
            `${linked ? 'its link dropped' : 'a connection attempt that failed'}: not trying again`,
          { details: { address: c.sighting.address } },
        );
      }
      await clockSleep(this.#clock, 50, signal).catch(() => undefined);
    }
  }

  /**
   * A link to the lock — unless, when the attempt goes out, the lock has not been heard lately
   * by the clock (a reconnection after a drop, an attempt that waited behind others): a
   * connection to a lock that has left waits out its timeout with the radio deaf while the
   * rest of the train passes unheard.
   */
  #open(c: Candidate, again: boolean, attemptOver: (connected: boolean) => void): Promise<BleLink> {
    // Judged when the attempt goes out: a read's second link may wait behind other attempts.
    const onTurn = () => {
      const silentMs = this.#clock.monotonic() - lastKnownAt(c);
      if (silentMs > this.#heardWithinByClock()) {
        throw new CtopError(
          'E_BLE_CONNECT',
          `lock ${c.sighting.advertisement.lockId} not heard for ${Math.round(silentMs)} ms: not connecting`,
          { details: { address: c.sighting.address, silentMs: Math.round(silentMs) } },
        );
      }
      if (this.#leaving(c)) throw leavingError(c.sighting);
      return this.#connectOptions(c, again);
    };
    return this.#o.radio.open(c.sighting.address, { onTurn, onAttemptOver: attemptOver });
  }

  /**
   * A lock not yet tried with less time left in range (the train's dwell minus its age) than
   * a read takes (the median of this train's recent reads, connection to verified manifest).
   * When locks arrive faster than the one initiator connects them, the reader falls behind;
   * reading the oldest first then means starting every read too late to finish, and the
   * whole rest of the train is lost (60 km/h: 15–24 of 110 read before this rule, 47–64
   * after). A lock already started is tried again: it may need only the rest of its manifest —
   * unless its read gave its link up for want of time (#outOfTime), which said it could not.
   */
  #tooLate(c: Candidate, now: number): boolean {
    if (c.passes > 0 && !c.outOfTime) return false;
    const readMs = this.#readTimes.median;
    const left = this.#dwell.timeLeftMs(now - c.sighting.firstSeenAt);
    if (readMs === undefined || left === undefined || left >= readMs) return false;
    // Still heard at twice the train's dwell: the train stopped (at a border station, say), or
    // this lock passes far slower than those that left. The estimate does not fit it, and a
    // lock in range is read — passed over, it would wait in the queue for ever, and the train
    // with it.
    const dwell = this.#dwell.dwellMs ?? 0;
    const heardWithin = this.#o.connectHeardWithinMs ?? 1000;
    if (left <= -dwell && now - c.sighting.lastSeenAt < heardWithin && !this.#leaving(c)) return false;
    c.notTried = new CtopError(
      'E_BLE_CONNECT',
      `lock ${c.sighting.advertisement.lockId} had ${(Math.max(0, left) / 1000).toFixed(1)} s left in range, ` +
        `less than a read takes (${(readMs / 1000).toFixed(1)} s): not started, the radio kept for locks that can still be read`,
      { details: { address: c.sighting.address, leftMs: Math.round(left), readMs: Math.round(readMs) } },
    );
    return true;
  }

  /** Moving away at the edge of range, in a moving train (see leavingDropDb). */
  #leaving(c: Candidate): boolean {
    if (this.#dwell.dwellMs === undefined) return false; // standing, or not known to move yet
    const { meanRssi, peakMeanRssi } = c.sighting;
    return meanRssi < (this.#o.weakRssiDbm ?? -90) && peakMeanRssi - meanRssi >= (this.#o.leavingDropDb ?? 3);
  }

  /** How recently by the clock a lock must have been heard to be connected to (see connectHeardWithinMs). */
  #heardWithinByClock(): number {
    const heardWithin = this.#o.connectHeardWithinMs ?? 1000;
    return this.#dwell.dwellMs === undefined ? 3 * heardWithin : heardWithin;
  }

  /** A connect timeout that fits the time the lock has left in range, once the train's dwell is known. */
  #connectOptions(c: Candidate, again: boolean): { connectTimeoutMs?: number } {
    const min = this.#o.minConnectTimeoutMs ?? 2000;
    const max = Math.max(min, this.#o.maxConnectTimeoutMs ?? 4000);
    const left = this.#dwell.timeLeftMs(this.#clock.monotonic() - c.sighting.firstSeenAt);
    // A link again within the same read, after a drop: a lock still in range answers within
    // a few advertising intervals; one that dropped because it left never does.
    if (again && (left === undefined || left > min)) return { connectTimeoutMs: min };
    if (left === undefined) return { connectTimeoutMs: max };
    const connectTimeoutMs = Math.min(max, Math.max(min, Math.round(left)));
    this.#log.debug(
      { lockId: c.sighting.advertisement.lockId, connectTimeoutMs },
      'connect timeout fitted to the time left in range',
    );
    return { connectTimeoutMs };
  }

  #finished(c: Candidate, result: LockReadResult): void {
    const advertised = c.sighting.advertisement.lockId;
    let verified: boolean | undefined;
    try {
      verified = this.#o.ingest?.(result, c.sighting)?.verified;
    } catch (err) {
      this.#log.error({ err, lockId: advertised }, 'storing a read failed');
    }
    if (result.outcome === 'complete') {
      if (c.passStartedAt !== undefined) this.#readTimes.add(this.#clock.monotonic() - c.passStartedAt);
      this.#update(c.sighting, 'read', {
        bytes: result.manifest?.byteLength ?? 0,
        total: result.manifest?.byteLength ?? 0,
        result,
        ...(verified !== undefined ? { verified } : {}),
      });
      return;
    }
    const error = result.error ?? new CtopError('E_INTERNAL', 'read failed without an error');
    if (result.checkpoint) c.checkpoint = result.checkpoint;
    c.lastError = error;
    const final =
      FINAL_FOR_THE_LOCK.has(error.code) ||
      !isRetryable(error) ||
      c.passes >= (this.#o.passesPerLock ?? 5) ||
      !this.#running;
    if (final) {
      this.#update(c.sighting, 'failed', { error, result });
      return;
    }
    c.nextEligibleAt = this.#clock.monotonic() + (this.#o.backoffBaseMs ?? 300) * 2 ** (c.passes - 1);
    this.#update(c.sighting, 'retrying', { error });
  }

  #update(s: LockSighting, state: LockReadState, extra: Partial<LockProgress> = {}): void {
    const progress = this.board.update(s, state, extra, this.#candidates.get(s.address)?.passes ?? 0);
    if (progress) this.emit('lock', progress);
  }

  #endTrain(): void {
    const summary = this.board.endTrain(this.#clock.now());
    if (!summary) return;
    for (const address of this.#candidates.keys()) this.#o.radio.forget(address);
    this.#candidates.clear();
    this.#departed.clear();
    this.#dwell.reset();
    this.#readTimes.reset();
    this.#log.info(
      {
        trainId: summary.trainId,
        read: summary.read,
        failed: summary.failed.length,
        missing: summary.missing,
      },
      'the train has passed',
    );
    this.emit('train-end', summary);
  }
}
