import type { SimClock, SimTimer } from './sim-clock.js';

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
}

export interface LinkLayerOptions {
  clock: SimClock;
  random: () => number;
  intervalMs: number;
  packetsPerInterval: number;
  lossRate: number;
  /** LL data PDU payload size in force; changes after data length negotiation. */
  llOctets: number;
}

export interface LinkStats {
  /** Connection events that moved at least one PDU. */
  busyEvents: number;
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
 * The link layer of one connection: connection events every `intervalMs` from the moment
 * the connection was made, each carrying up to `packetsPerInterval` LL data PDUs of at most
 * `llOctets` bytes per direction, each lost with probability `lossRate` and then repeated.
 *
 * It runs only while there is data and catches up in batches: a timer wakes it at the next
 * due event, and it then plays every event whose time has come. What the peripheral
 * receives in one event is handed to it after that event, so its answer goes out in a
 * later event, as on air.
 */
export class LinkLayer {
  readonly stats: LinkStats = {
    busyEvents: 0,
    pdusDelivered: 0,
    pdusLost: 0,
    slotsHeld: 0,
    bytesToPeripheral: 0,
    bytesToCentral: 0,
  };
  readonly #o: LinkLayerOptions;
  readonly #hooks: LinkLayerHooks;
  readonly #anchor: number;
  #nextEvent = 0;
  #central: CentralItem[] = [];
  #peripheral: PeripheralItem[] = [];
  #counted = 0;
  #timer: SimTimer | undefined;
  /** Inside #run: data queued by the callbacks is picked up by the running loop. */
  #running = false;
  #stopped = false;

  constructor(options: LinkLayerOptions, hooks: LinkLayerHooks) {
    this.#o = { ...options };
    this.#hooks = hooks;
    this.#anchor = options.clock.monotonic();
  }

  get intervalMs(): number {
    return this.#o.intervalMs;
  }

  get llOctets(): number {
    return this.#o.llOctets;
  }

  set llOctets(octets: number) {
    this.#o.llOctets = octets;
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
    this.#wake();
  }

  /** `counted`: the PDU occupies the app's TX buffer (notifications; not ATT responses). */
  fromPeripheral(pdu: Buffer, counted: boolean): void {
    if (this.#stopped) return;
    this.#peripheral.push({ pdu, offset: 0, counted });
    if (counted) this.#counted++;
    this.#wake();
  }

  /** The radio link is gone: nothing moves any more, queued data is dropped. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#central = [];
    this.#peripheral = [];
    this.#counted = 0;
  }

  #eventTime(k: number): number {
    return this.#anchor + k * this.#o.intervalMs;
  }

  #wake(): void {
    if (this.#timer || this.#running || this.#stopped) return;
    const now = this.#o.clock.monotonic();
    // An idle link skips the events that passed with nothing to send.
    const firstDue = Math.ceil((now - this.#anchor) / this.#o.intervalMs);
    if (firstDue > this.#nextEvent) this.#nextEvent = firstDue;
    this.#schedule();
  }

  #schedule(): void {
    const at = this.#eventTime(this.#nextEvent);
    this.#timer = this.#o.clock.at(() => {
      this.#timer = undefined;
      this.#run();
    }, at);
  }

  #run(): void {
    const now = this.#o.clock.monotonic();
    let completed = 0;
    this.#running = true;
    try {
      while (!this.#stopped && this.#eventTime(this.#nextEvent) <= now && this.#busy()) {
        completed += this.#connectionEvent();
        this.#nextEvent++;
      }
    } finally {
      this.#running = false;
    }
    if (completed > 0 && !this.#stopped) this.#hooks.completed(completed);
    if (this.#stopped || this.#timer) return;
    if (this.#busy()) this.#schedule();
  }

  #busy(): boolean {
    return this.#central.length > 0 || this.#peripheral.length > 0;
  }

  /** One connection event; returns host fragments completed. */
  #connectionEvent(): number {
    const { packetsPerInterval, lossRate, llOctets } = this.#o;
    const random = this.#o.random;
    const arrived: CentralItem[] = [];
    let completed = 0;
    for (let slot = 0; slot < packetsPerInterval && this.#central.length > 0; slot++) {
      if (lossRate > 0 && random() < lossRate) {
        this.stats.pdusLost++;
        continue;
      }
      this.stats.pdusDelivered++;
      const head = this.#central[0]!;
      head.left -= llOctets;
      if (head.left <= 0) {
        this.#central.shift();
        arrived.push(head);
        completed++;
      }
    }
    let roomFreed = false;
    for (let slot = 0; slot < packetsPerInterval && this.#peripheral.length > 0; slot++) {
      if (!this.#hooks.centralReady()) {
        this.stats.slotsHeld += packetsPerInterval - slot;
        break;
      }
      if (lossRate > 0 && random() < lossRate) {
        this.stats.pdusLost++;
        continue;
      }
      this.stats.pdusDelivered++;
      const head = this.#peripheral[0]!;
      const piece = head.pdu.subarray(head.offset, head.offset + llOctets);
      const first = head.offset === 0;
      head.offset += piece.length;
      if (head.offset >= head.pdu.length) {
        this.#peripheral.shift();
        if (head.counted) {
          this.#counted--;
          roomFreed = true;
        }
      }
      this.stats.bytesToCentral += piece.length;
      this.#hooks.toCentral(first, piece);
    }
    this.stats.busyEvents++;
    for (const item of arrived) {
      if (this.#stopped) break;
      this.stats.bytesToPeripheral += item.data.length;
      this.#hooks.toPeripheral(item.pb, item.data);
    }
    if (roomFreed && !this.#stopped) this.#hooks.txRoom();
    return completed;
  }
}
