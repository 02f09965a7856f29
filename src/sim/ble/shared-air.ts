import { exchangeAirUs, type Phy, T_IFS_US } from './air-time.js';
import type { SimClock, SimTimer } from './sim-clock.js';

/** What the shared air needs of a link layer. */
export interface AirUser {
  /** Simulated ms of the link's next connection event (its anchor point). */
  readonly nextEventMs: number;
  readonly intervalMs: number;
  readonly phy: Phy;
  readonly llOctets: number;
  /** Whether it has anything to send or to hear. */
  readonly busy: boolean;
  /** Plays one connection event from `startMs` with at most `budgetUs` of air; returns the air used, µs. */
  playEvent(startMs: number, budgetUs: number): number;
  /** Its event at `nextEventMs` did not get the air (another link's event ran over its anchor). */
  skipEvent(): void;
  /** Moves the next event to the first anchor at or after `nowMs` (events passed idle are not replayed). */
  catchUp(nowMs: number): void;
  /** After a batch of events: tell the host what completed. */
  flush(): void;
}

export interface SharedAirStats {
  /** Connection events that got the air. */
  events: number;
  /** Connection events lost because the air was taken at their anchor. */
  skipped: number;
}

/** Air a connected link with nothing to send still uses each interval: one empty exchange, µs. */
function idleEventUs(phy: Phy): number {
  return exchangeAirUs(phy, 0, 0);
}

const BUCKET_MS = 10;
const BUCKETS = 20;

/**
 * How a controller shares its radio between connection events and its scanner or initiator.
 * `preempt` (the default) plays Zephyr's open link layer: each scan window's start ends the
 * central connection event under way (lll_conn_central_is_abort_cb, earlier
 * lll_conn_is_abort_cb, returns -ECANCELED for any other event unless near the supervision
 * timeout) and keeps the air until the window closes or the next link event is due (a
 * continuous scan yields to it and resumes after it: lll_scan.c, is_abort_cb); between
 * window starts the listener hears in what the links leave. So the host's scan interval
 * sets its share. `contender`: while listening, the listener takes a share as one more link,
 * whatever its interval (what `preempt` averages at noble's 11.25 ms beside two links).
 * `leftover`: the listener hears only in the air the connection events leave — Nordic's S140
 * when the application sets link events as long as the interval (its scanner timing-event
 * is placed after the central link timing-events; by default it bounds each link's event to
 * 3.75 ms and leaves the scanner the rest); a kinder controller for the links, a deafer one
 * for the scanner.
 */
export const SCANNER_SHARES = ['preempt', 'contender', 'leftover'] as const;
export type ScannerShare = (typeof SCANNER_SHARES)[number];

/** A listener's scan windows: one starts every `intervalMs` from `sinceMs` and lasts up to `windowMs`. */
export interface ListenerWindows {
  intervalMs: number;
  windowMs: number;
  sinceMs: number;
}

/**
 * One radio's air, shared by every connection of the controller and by its scanner. All
 * connection events run on one timeline; among the links whose event could start, the one
 * served least recently goes first (links take turns); an event starts when the air is free
 * and must end T_IFS before its link's next anchor. When several want the air, an event gets
 * at most a fair share of its interval (interval ÷ contenders, never less than one full
 * exchange; a link whose event used less than its share, for want of room for one more whole
 * exchange, is owed the rest at its next event). With `scannerShare` `preempt` (the
 * default) a listener's window start cuts the event under way and holds the air until the
 * next event is due; with `contender`, while the scanner or initiator listens it counts as
 * one contender: after each event it gets that event's air divided among the busy links;
 * with `leftover` it takes no part and hears in what the events leave.
 * An event whose anchor passed while the air was taken starts when it frees, unless its next
 * anchor came first: then it is lost (`stats.skipped`).
 *
 * A real central places anchor points so that events of equal intervals tile the air; the
 * start-when-free rule stands for that scheduler (no event is cut to nothing by a neighbour
 * whose anchor is a fraction of a packet earlier), so the radio as a whole carries what its
 * air time allows and no more. Advertisements are heard only in the air the connections
 * leave: `listenFraction`.
 */
export class SharedAir {
  readonly stats: SharedAirStats = { events: 0, skipped: 0 };
  readonly #clock: SimClock;
  readonly #listening: () => boolean;
  readonly #scannerContends: boolean;
  /** `preempt`: when the listener's windows start, which cut the link event under way. */
  readonly #windows: (() => ListenerWindows | undefined) | undefined;
  readonly #open = new Set<AirUser>();
  /** Links with data, and when each last had the air (or began to want it). */
  readonly #busy = new Map<AirUser, number>();
  /**
   * Of each busy link's fair shares, what its events could not use: a share is rarely a whole
   * number of exchanges, and a link that got one exchange of a 3.75 ms share is owed the rest
   * at its next event (deficit round robin), or the listener would take it all. ms.
   */
  readonly #owed = new Map<AirUser, number>();
  #freeAt = 0;
  #timer: SimTimer | undefined;
  #running = false;
  /** Connection air per 10 ms of simulated time, µs, for the last 200 ms. */
  readonly #buckets = new Float64Array(BUCKETS);
  readonly #bucketEpoch = new Float64Array(BUCKETS).fill(-1);

  /** `listening`: whether the scanner or the initiator wants the air now. */
  constructor(
    clock: SimClock,
    listening: () => boolean = () => false,
    scannerShare: ScannerShare = 'preempt',
    windows?: () => ListenerWindows | undefined,
  ) {
    this.#clock = clock;
    this.#listening = listening;
    this.#scannerContends = scannerShare === 'contender';
    this.#windows = scannerShare === 'preempt' ? windows : undefined;
  }

  /** Where the timeline of played events has reached: the end of the last event, simulated ms. */
  get playedUntilMs(): number {
    return this.#freeAt;
  }

  /** A connection opened: its idle events take air from now on. */
  open(link: AirUser): void {
    this.#open.add(link);
  }

  /** A connection closed. */
  close(link: AirUser): void {
    this.#open.delete(link);
    this.#busy.delete(link);
    this.#owed.delete(link);
  }

  /** `link` has data: it takes part in the air from its next anchor. */
  want(link: AirUser): void {
    if (this.#busy.has(link)) return;
    const now = this.#clock.monotonic();
    link.catchUp(now);
    this.#busy.set(link, now);
    if (this.#running) return;
    this.#schedule();
  }

  /**
   * The fraction of the last 200 ms of air the connections left free: the chance that the
   * scanner (or initiator) was listening when an advertisement went out. Connected links
   * with nothing to send still take one empty exchange per interval.
   */
  listenFraction(): number {
    // Batches play events late: while links are busy, the window ends where their timeline
    // has got to, not at a present whose events have not been played yet.
    const clockNow = this.#clock.monotonic();
    const now = this.#busy.size > 0 ? Math.min(clockNow, this.#freeAt) : clockNow;
    const span = Math.min(BUCKETS * BUCKET_MS, Math.max(BUCKET_MS, now));
    const first = Math.floor((now - span) / BUCKET_MS);
    let usedUs = 0;
    for (let b = first; b <= Math.floor(now / BUCKET_MS); b++) {
      const i = ((b % BUCKETS) + BUCKETS) % BUCKETS;
      if (this.#bucketEpoch[i] === b) usedUs += this.#buckets[i]!;
    }
    let idle = 0;
    for (const link of this.#open)
      if (!this.#busy.has(link)) idle += idleEventUs(link.phy) / (link.intervalMs * 1000);
    return Math.max(0, Math.min(1, 1 - usedUs / (span * 1000) - idle));
  }

  /** Stops the timeline (controller shutdown). */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#busy.clear();
    this.#owed.clear();
    this.#open.clear();
  }

  #startOf(link: AirUser): number {
    return Math.max(link.nextEventMs, this.#freeAt);
  }

  /**
   * The link whose event goes next among those that could start by `nowMs`: the one served
   * least recently, so links take turns and one whose events were lost to others goes first
   * (a real scheduler raises the priority of a link it skipped); undefined when none can
   * start yet.
   */
  #next(nowMs: number): AirUser | undefined {
    let best: AirUser | undefined;
    let bestSince = Number.POSITIVE_INFINITY;
    for (const [link, since] of this.#busy) {
      if (this.#startOf(link) > nowMs) continue;
      if (since < bestSince) {
        best = link;
        bestSince = since;
      }
    }
    return best;
  }

  #earliestStart(): number | undefined {
    let earliest: number | undefined;
    for (const link of this.#busy.keys()) {
      const start = this.#startOf(link);
      if (earliest === undefined || start < earliest) earliest = start;
    }
    return earliest;
  }

  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const at = this.#earliestStart();
    if (at === undefined) return;
    this.#timer = this.#clock.at(() => {
      this.#timer = undefined;
      this.#run();
    }, at);
  }

  #run(): void {
    const now = this.#clock.monotonic();
    const played = new Set<AirUser>();
    this.#running = true;
    try {
      for (;;) {
        const link = this.#next(now);
        if (!link) break;
        if (!link.busy) {
          this.#busy.delete(link);
          continue;
        }
        const anchor = link.nextEventMs;
        const start = this.#startOf(link);
        const lastStartMs = anchor + link.intervalMs - T_IFS_US / 1000;
        const oneExchangeMs = exchangeAirUs(link.phy, link.llOctets, 0) / 1000;
        if (start + oneExchangeMs > lastStartMs) {
          link.skipEvent(); // not served: it keeps its place in the turn
          this.stats.skipped++;
          continue;
        }
        const listening = this.#scannerContends && this.#listening();
        const links = this.#busy.size;
        const contenders = links + (listening ? 1 : 0);
        const fairMs = link.intervalMs / contenders;
        const shareMs = Math.max(oneExchangeMs, fairMs + (this.#owed.get(link) ?? 0));
        const plannedEndMs = Math.min(lastStartMs, start + shareMs);
        let endMs = plannedEndMs;
        const cut = this.#windowStartIn(start, endMs);
        if (cut !== undefined) {
          endMs = cut.atMs;
          if (endMs - start < oneExchangeMs) {
            // The window opened as the event began: it is cancelled before its first exchange.
            link.skipEvent();
            this.stats.skipped++;
            this.#freeAt = Math.max(this.#freeAt, this.#windowEnd(cut, link, plannedEndMs));
            continue;
          }
        }
        // Links with nothing to send keep their events: an empty exchange at each of their
        // anchors inside this event's span takes that air from it (the events tile the air;
        // one full exchange still goes, as for a share too short for one).
        const idleUs = this.#idleAirUs(link, start, endMs);
        const usedUs = link.playEvent(start, Math.max(oneExchangeMs * 1000, (endMs - start) * 1000 - idleUs));
        // Owed at most one share more, and only while it has data: an idle link is owed nothing;
        // nor is one whose event a scan window cut (the controller does not make that up).
        if (link.busy && cut === undefined) {
          this.#owed.set(link, Math.min(fairMs, Math.max(0, shareMs - usedUs / 1000)));
        } else this.#owed.delete(link);
        played.add(link);
        this.stats.events++;
        this.#account(start, usedUs);
        const scannerTurnUs = listening ? usedUs / links : 0;
        // The empty exchanges within what the event took (it may have run out of data early).
        const idleTakenUs = idleUs && this.#idleAirUs(link, start, start + (usedUs + idleUs) / 1000);
        this.#freeAt = start + (usedUs + idleTakenUs + scannerTurnUs) / 1000;
        if (cut) this.#freeAt = Math.max(this.#freeAt, this.#windowEnd(cut, link, plannedEndMs));
        if (!link.busy) this.#busy.delete(link);
        else if (this.#busy.has(link)) this.#busy.set(link, start);
      }
    } finally {
      this.#running = false;
    }
    for (const link of played) link.flush();
    this.#schedule();
  }

  /**
   * The air the open links with nothing to send take between `fromMs` and `toMs`, µs: one
   * empty exchange at each of their anchors from their next event on (the phase holds while
   * a link is idle; before that event it was busy and played its own, or not yet connected).
   */
  #idleAirUs(playing: AirUser, fromMs: number, toMs: number): number {
    let us = 0;
    for (const link of this.#open) {
      if (link === playing || this.#busy.has(link)) continue;
      const first = Math.max(0, Math.ceil((fromMs - link.nextEventMs) / link.intervalMs));
      const end = Math.ceil((toMs - link.nextEventMs) / link.intervalMs);
      if (end > first) us += (end - first) * idleEventUs(link.phy);
    }
    return us;
  }

  /** `preempt`: the first listener window to start after `startMs` and before `endMs`. */
  #windowStartIn(startMs: number, endMs: number): { atMs: number; windows: ListenerWindows } | undefined {
    const windows = this.#windows?.();
    if (!windows || !this.#listening()) return undefined;
    const k = Math.floor((startMs - windows.sinceMs) / windows.intervalMs) + 1;
    const atMs = windows.sinceMs + k * windows.intervalMs;
    return atMs < endMs ? { atMs, windows } : undefined;
  }

  /**
   * A window that cut a link event keeps the air until it closes or the next link event is
   * due (that event's prepare ends the window: Zephyr's scanner yields to it). Events tile
   * the air: a busy link waiting for this one was due when this one's share would have ended.
   */
  #windowEnd(cut: { atMs: number; windows: ListenerWindows }, link: AirUser, plannedEndMs: number): number {
    let end = cut.atMs + cut.windows.windowMs;
    for (const other of this.#busy.keys()) {
      const due = other !== link && other.nextEventMs < plannedEndMs ? plannedEndMs : other.nextEventMs;
      if (due >= cut.atMs && due < end) end = due;
    }
    return end;
  }

  #account(startMs: number, usedUs: number): void {
    const b = Math.floor(startMs / BUCKET_MS);
    const i = b % BUCKETS;
    if (this.#bucketEpoch[i] !== b) {
      this.#bucketEpoch[i] = b;
      this.#buckets[i] = 0;
    }
    this.#buckets[i]! += usedUs;
  }
}
