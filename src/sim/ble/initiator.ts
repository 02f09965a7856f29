import { Status } from './hci-constants.js';
import { addressFromHci } from './hci-events.js';
import type { SimPeripheral } from './peripheral.js';

/** An LE Create Connection waiting for its peer to advertise. */
export interface PendingConnection {
  address: string;
  addressType: 'public' | 'random';
  /** Fraction of the time the initiator listens: scan window / scan interval. */
  duty: number;
  /** The host's maximum connection interval, 1.25 ms units. */
  intervalMaxUnits: number;
  latency: number;
  /** The host's supervision timeout, 10 ms units. */
  supervisionUnits: number;
}

/**
 * The controller's initiator: at most one LE Create Connection in progress (Vol 4 Part E
 * §7.8.12), which connects at an advertising event of its peer that the initiator hears.
 */
export class Initiator {
  pending: PendingConnection | undefined;

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
      duty: scanWindow / scanInterval,
      intervalMaxUnits: p.readUInt16LE(15),
      latency: p.readUInt16LE(17),
      supervisionUnits: p.readUInt16LE(19),
    };
    let status: number = Status.Success;
    if (this.pending) status = Status.CommandDisallowed;
    else if (filterPolicy !== 0)
      status = Status.UnsupportedFeature; // no filter accept list in the model
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
    return this.pending?.address === p.address && p.connectable && random() < this.pending.duty;
  }
}
