import type { FilterAcceptList } from './filter-accept-list.js';
import { Status } from './hci-constants.js';
import { addressFromHci } from './hci-events.js';
import type { SimPeripheral } from './peripheral.js';

/** An LE Create Connection waiting for its peer to advertise. */
export interface PendingConnection {
  /** The peer named in the command; with `acceptList` ignored (the host may name none). */
  address: string;
  /** Initiator_Filter_Policy 1: connect to whichever device of the Filter Accept List is heard first. */
  acceptList: boolean;
  addressType: 'public' | 'random';
  /** LE_Scan_Interval and LE_Scan_Window, ms: the initiator listens window / interval of the time. */
  scanIntervalMs: number;
  scanWindowMs: number;
  /** The host's maximum connection interval, 1.25 ms units. */
  intervalMaxUnits: number;
  latency: number;
  /** The host's supervision timeout, 10 ms units. */
  supervisionUnits: number;
}

/**
 * The controller's initiator: at most one LE Create Connection in progress (Vol 4 Part E
 * §7.8.12), which connects at an advertising event of its peer — or, with the Filter Accept
 * List, of any device on it — that the initiator hears.
 */
export class Initiator {
  pending: PendingConnection | undefined;
  readonly #acceptList: FilterAcceptList;

  constructor(acceptList: FilterAcceptList) {
    this.#acceptList = acceptList;
  }

  /** Whether an LE Create Connection using the Filter Accept List is pending (the list may not change then). */
  get usesAcceptList(): boolean {
    return this.pending?.acceptList === true;
  }

  /**
   * Parses LE Create Connection. Returns the status for the Command Status event; on success
   * the attempt is pending. Checks that need the connection table are the caller's.
   */
  create(p: Buffer): { status: number; peer: string } {
    const scanInterval = p.readUInt16LE(0);
    const scanWindow = p.readUInt16LE(2);
    const filterPolicy = p.readUInt8(4);
    const peer: PendingConnection = {
      addressType: p.readUInt8(5) === 1 ? 'random' : 'public',
      address: addressFromHci(p.subarray(6, 12)),
      acceptList: filterPolicy === 1,
      scanIntervalMs: scanInterval * 0.625,
      scanWindowMs: scanWindow * 0.625,
      intervalMaxUnits: p.readUInt16LE(15),
      latency: p.readUInt16LE(17),
      supervisionUnits: p.readUInt16LE(19),
    };
    let status: number = Status.Success;
    if (this.pending) status = Status.CommandDisallowed;
    else if (filterPolicy > 1) status = Status.InvalidParameters;
    else if (filterPolicy === 1 && this.#acceptList.size === 0) status = Status.UnsupportedFeature;
    else if (scanWindow === 0 || scanWindow > scanInterval) status = Status.InvalidParameters;
    if (status === Status.Success) this.pending = peer;
    return { status, peer: peer.address };
  }

  /** Drops the pending attempt and returns it. */
  take(): PendingConnection | undefined {
    const pending = this.pending;
    this.pending = undefined;
    return pending;
  }

  /** Whether this advertising event of `p` completes the pending attempt. */
  hears(p: SimPeripheral, random: () => number): boolean {
    const pending = this.pending;
    if (!pending || !p.connectable) return false;
    const wanted = pending.acceptList
      ? this.#acceptList.has(p.addressType, p.address)
      : pending.address === p.address;
    return wanted && random() < pending.scanWindowMs / pending.scanIntervalMs;
  }
}
