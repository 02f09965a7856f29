import { exchangeAirUs, type Phy, packetErrorRate } from './air-time.js';
import { SharedAir } from './shared-air.js';
import type { SimClock } from './sim-clock.js';

export interface LinkLayerHooks {
  /** A host ACL fragment reached the peripheral: all of its LL PDUs got through. */
  toPeripheral(pb: number, data: Buffer): void;
  /** One LL PDU from the peripheral reached the central; `first` starts an L2CAP PDU. */
  toCentral(first: boolean, data: Buffer): void;
  /**
   * Whether the central's controller can take PDUs now. False when its line to the host is
   * backed up: the controller then does not acknowledge, and the peripheral keeps its data.
   */
  centralReady(): boolean;
  /** Host ACL fragments fully sent in the last batch (for Number Of Completed Packets). */
  completed(count: number): void;
  /** Counted peripheral PDUs (notifications) left the TX buffer in the last event. */
  txRoom(): void;
  /**
   * Nothing was received from the peripheral for the supervision timeout (`established`
   * true) or within six intervals of connecting (false: the connection failed to be
   * established). The link layer has stopped.
   */
  lost?(established: boolean): void;
}

export interface LinkLayerOptions {
  clock: SimClock;
  random: () => number;
  intervalMs: number;
  /** A controller's own limit of exchanges per connection event; default: what air time allows. */
  packetsPerInterval?: number;
  /** Loss of any packet whatever the signal (interference, reflections), per transmission. */
  lossRate: number;
  /** LL data PDU payload size in force; changes after data length negotiation. */
  llOctets: number;
  /** Default '1m'. */
  phy?: Phy;
  /** The radio's air this link shares. Default: a radio of its own. */
  air?: SharedAir;
  /**
   * The received signal's margin over the receiver's sensitivity, dB, sampled once per
   * connection event (so fading varies from event to event). Default: no distance loss.
   */
  marginDb?: () => number;
  /**
   * The link is lost when no packet of the peripheral was received for this long, simulated ms
   * (the supervision timeout), and before the first one for six connection intervals (Vol 6
   * Part B §4.5.2). Default: never.
   */
  supervisionTimeoutMs?: number;
  /** The peripheral never received the connection request: it never answers. Default false. */
  missedConnectRequest?: boolean;
}

export interface LinkStats {
  /** Connection events played (they had the air). */
  events: number;
  /** Connection events that moved at least one PDU. */
  busyEvents: number;
  /** Connection events lost because another link's event held the air at this one's anchor. */
  skippedEvents: number;
  /** Air time the link's events used, µs. */
  airUs: number;
  /** LL PDUs delivered (both directions). */
  pdusDelivered: number;
  /** LL PDU transmissions lost and repeated (both directions). */
  pdusLost: number;
  /** Peripheral slots left unused because the host side was backed up. */
  slotsHeld: number;
  /** ACL payload bytes delivered host → peripheral. */
  bytesToPeripheral: number;
  /** L2CAP bytes delivered peripheral → host. */
  bytesToCentral: number;
}

interface CentralItem {
  pb: number;
  data: Buffer;
  /** Bytes still to send over the air; a zero-length fragment still takes one PDU. */
  left: number;
}

interface PeripheralItem {
  pdu: Buffer;
  offset: number;
  counted: boolean;
}

/**
 * The link layer of one connection: connection events every `intervalMs` from the moment the
 * connection was made, on the air it shares with the controller's other links and its
 * scanner (SharedAir). An event is a run of exchanges — the central's packet, T_IFS, the
 * peripheral's packet, T_IFS — each carrying up to `llOctets` of data per direction (or an
 * empty packet), for as long as there is data and the event's air lasts. Packet air time
 * follows the PHY and the payload size, so a short packet costs less than a full one.
 *
 * A packet is lost with `lossRate`, and with the bit-error probability of its length at the
 * signal margin of the event; a lost data packet is repeated in the next exchange (loss
 * costs air, never data), and two consecutive exchanges in which the central heard nothing
 * valid close the event (Vol 6 Part B §4.5.6). What the peripheral receives in one event is
 * handed to it after that event, so its answer goes out in a later event, as on air.
 */
export class LinkLayer {
  readonly stats: LinkStats = {
    events: 0,
    busyEvents: 0,
    skippedEvents: 0,
    airUs: 0,
    pdusDelivered: 0,
    pdusLost: 0,
    slotsHeld: 0,
    bytesToPeripheral: 0,
    bytesToCentral: 0,
  };
  readonly #o: LinkLayerOptions;
  readonly #hooks: LinkLayerHooks;
  readonly #air: SharedAir;
  readonly #phy: Phy;
  readonly #anchor: number;
  #nextEvent = 0;
  #central: CentralItem[] = [];
  #peripheral: PeripheralItem[] = [];
  #counted = 0;
  #completed = 0;
  /** Simulated ms at which a packet of the peripheral was last received. */
  #heardAt: number;
  #established = false;
  #stopped = false;

  constructor(options: LinkLayerOptions, hooks: LinkLayerHooks) {
    this.#o = { ...options };
    this.#hooks = hooks;
    this.#phy = options.phy ?? '1m';
    this.#air = options.air ?? new SharedAir(options.clock);
    this.#anchor = options.clock.monotonic();
    this.#heardAt = this.#anchor;
    this.#air.open(this);
    // The first exchange tells whether the peripheral heard the connection request at all.
    if (options.supervisionTimeoutMs !== undefined) this.#air.want(this);
  }

  get intervalMs(): number {
    return this.#o.intervalMs;
  }

  get phy(): Phy {
    return this.#phy;
  }

  get llOctets(): number {
    return this.#o.llOctets;
  }

  set llOctets(octets: number) {
    this.#o.llOctets = octets;
  }

  get nextEventMs(): number {
    return this.#anchor + this.#nextEvent * this.#o.intervalMs;
  }

  /** Anything to send, or a connection still to be established. */
  get busy(): boolean {
    if (this.#stopped) return false;
    const unproven = this.#o.supervisionTimeoutMs !== undefined && !this.#established;
    return unproven || this.#central.length > 0 || this.#peripheral.length > 0;
  }

  /** Counted (notification) PDUs waiting in the peripheral's TX buffer. */
  get queuedNotifications(): number {
    return this.#counted;
  }

  /** Host ACL fragments waiting in the controller's buffers. */
  get queuedFromCentral(): number {
    return this.#central.length;
  }

  fromCentral(pb: number, data: Buffer): void {
    if (this.#stopped) return;
    this.#central.push({ pb, data, left: Math.max(1, data.length) });
    this.#air.want(this);
  }

  /** `counted`: the PDU occupies the app's TX buffer (notifications; not ATT responses). */
  fromPeripheral(pdu: Buffer, counted: boolean): void {
    if (this.#stopped) return;
    this.#peripheral.push({ pdu, offset: 0, counted });
    if (counted) this.#counted++;
    this.#air.want(this);
  }

  /** The radio link is gone: nothing moves any more, queued data is dropped. */
  stop(): void {
    this.#stopped = true;
    this.#air.close(this);
    this.#central = [];
    this.#peripheral = [];
    this.#counted = 0;
  }

  catchUp(nowMs: number): void {
    // An idle link skips the events that passed with nothing to send; their empty exchanges
    // are counted as heard (the supervision clock restarts), which SharedAir books as air.
    const firstDue = Math.ceil((nowMs - this.#anchor) / this.#o.intervalMs);
    if (firstDue > this.#nextEvent) {
      this.#nextEvent = firstDue;
      if (this.#established) this.#heardAt = Math.max(this.#heardAt, nowMs);
    }
  }

  skipEvent(): void {
    this.#nextEvent++;
    this.stats.skippedEvents++;
    this.#checkSupervision(this.nextEventMs);
  }

  flush(): void {
    const completed = this.#completed;
    this.#completed = 0;
    if (completed > 0 && !this.#stopped) this.#hooks.completed(completed);
  }

  /** One connection event from `startMs`; returns the air it used, µs. */
  playEvent(startMs: number, budgetUs: number): number {
    const { lossRate, llOctets, packetsPerInterval } = this.#o;
    const random = this.#o.random;
    const margin = this.#o.marginDb?.() ?? Number.POSITIVE_INFINITY;
    const lost = (payload: number) => {
      if (lossRate > 0 && random() < lossRate) return true;
      return margin !== Number.POSITIVE_INFINITY && random() < packetErrorRate(this.#phy, margin, payload);
    };
    const arrived: CentralItem[] = [];
    const limit = packetsPerInterval ?? Number.POSITIVE_INFINITY;
    let usedUs = 0;
    let deafRun = 0;
    let roomFreed = false;
    let moved = false;
    for (let n = 0; n < limit; n++) {
      const head = this.#central[0];
      const centralOctets = head ? Math.min(llOctets, head.left) : 0;
      const want = this.#peripheral.length > 0;
      const ready = want && this.#hooks.centralReady();
      if (want && !ready) this.stats.slotsHeld++;
      const tail = ready ? this.#peripheral[0]! : undefined;
      const peripheralOctets = tail ? Math.min(llOctets, tail.pdu.length - tail.offset) : 0;
      // An event with nothing to move still has its empty exchange: it keeps the link alive.
      if (n > 0 && centralOctets === 0 && peripheralOctets === 0) break;
      const costUs = exchangeAirUs(this.#phy, centralOctets, peripheralOctets);
      if (usedUs + costUs > budgetUs + 1e-6) break; // the budget is a difference of ms: rounding
      usedUs += costUs;
      const centralLost = this.#o.missedConnectRequest === true || lost(centralOctets);
      // A peripheral that missed the central's packet does not answer (Vol 6 Part B §4.5.6).
      const peripheralLost = centralLost || lost(peripheralOctets);
      if (head && centralOctets > 0) {
        if (centralLost) this.stats.pdusLost++;
        else {
          this.stats.pdusDelivered++;
          moved = true;
          head.left -= llOctets;
          if (head.left <= 0) {
            this.#central.shift();
            arrived.push(head);
            this.#completed++;
          }
        }
      }
      if (tail && peripheralOctets > 0) {
        // A peripheral that did not hear the central sent nothing: no transmission to count.
        if (peripheralLost) {
          if (!centralLost) this.stats.pdusLost++;
        } else {
          this.stats.pdusDelivered++;
          moved = true;
          const piece = tail.pdu.subarray(tail.offset, tail.offset + llOctets);
          const first = tail.offset === 0;
          tail.offset += piece.length;
          if (tail.offset >= tail.pdu.length) {
            this.#peripheral.shift();
            if (tail.counted) {
              this.#counted--;
              roomFreed = true;
            }
          }
          this.stats.bytesToCentral += piece.length;
          this.#hooks.toCentral(first, piece);
        }
      }
      if (peripheralLost) {
        if (++deafRun >= 2) break;
      } else {
        deafRun = 0;
        this.#heardAt = startMs + usedUs / 1000;
        this.#established = true;
      }
      if (!ready && centralOctets === 0) break; // only held data left: nothing to exchange
      if (this.#stopped) break;
    }
    this.stats.airUs += usedUs;
    this.stats.events++;
    if (moved) this.stats.busyEvents++;
    this.#nextEvent++;
    for (const item of arrived) {
      if (this.#stopped) break;
      this.stats.bytesToPeripheral += item.data.length;
      this.#hooks.toPeripheral(item.pb, item.data);
    }
    if (roomFreed && !this.#stopped) this.#hooks.txRoom();
    this.#checkSupervision(startMs + usedUs / 1000);
    return usedUs;
  }

  #checkSupervision(nowMs: number): void {
    const timeout = this.#o.supervisionTimeoutMs;
    if (timeout === undefined || this.#stopped) return;
    const limit = this.#established ? timeout : 6 * this.#o.intervalMs;
    if (nowMs - this.#heardAt < limit) return;
    const established = this.#established;
    this.stop();
    this.#hooks.lost?.(established);
  }
}
