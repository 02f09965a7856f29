import { eventBudgetUs, exchangeAirUs, PHYS, type Phy } from './air-time.js';

/**
 * How a simulated BLE connection behaves on air. World-wide defaults, overridable per
 * peripheral. All times are simulated.
 */
export interface LinkParams {
  /**
   * Connection interval in ms, rounded to the 1.25 ms unit and kept in 7.5 ms..4 s.
   * Undefined: the maximum the host asked for in LE Create Connection (noble: 22.5 ms).
   * A set value stands for the peripheral's preferred interval, which the central accepts.
   */
  connectionIntervalMs?: number;
  /**
   * A cap on the exchanges of one connection event (some controllers stop at a few); each
   * carries one LL data PDU per direction. Default: none — as many as the event's air time
   * holds (six full packets at 15 ms on the 1M PHY).
   */
  packetsPerInterval?: number;
  /** Default '1m'. */
  phy: Phy;
  /**
   * Probability that one packet is lost whatever the signal (interference, reflections off
   * steel), each direction, each attempt; distance adds its own (the receiver's bit errors at
   * the signal margin). The link layer retransmits: loss costs air, never data.
   */
  lossRate: number;
  /**
   * Probability per simulated second that the link breaks (fading, a wagon in the way). The
   * central sees Disconnection Complete, reason 0x08, one supervision timeout later.
   */
  disconnectRatePerSecond: number;
  /** Supervision timeout in ms. Undefined: what the host asked for (noble: 420 ms). */
  supervisionTimeoutMs?: number;
}

export const DEFAULT_LINK: Readonly<LinkParams> = {
  phy: '1m',
  lossRate: 0,
  disconnectRatePerSecond: 0,
};

export function validateLinkParams(p: Partial<LinkParams>): void {
  if (p.phy !== undefined && !PHYS.includes(p.phy))
    throw new TypeError(`phy must be one of ${PHYS.join(', ')}`);
  if (
    p.packetsPerInterval !== undefined &&
    !(Number.isInteger(p.packetsPerInterval) && p.packetsPerInterval >= 1)
  ) {
    throw new TypeError('packetsPerInterval must be an integer >= 1');
  }
  if (p.lossRate !== undefined && !(p.lossRate >= 0 && p.lossRate < 1)) {
    throw new TypeError('lossRate must be in [0, 1)');
  }
  if (
    p.disconnectRatePerSecond !== undefined &&
    !(p.disconnectRatePerSecond >= 0 && p.disconnectRatePerSecond < 1)
  ) {
    throw new TypeError('disconnectRatePerSecond must be in [0, 1)');
  }
  if (
    p.connectionIntervalMs !== undefined &&
    !(p.connectionIntervalMs >= 7.5 && p.connectionIntervalMs <= 4000)
  ) {
    throw new TypeError('connectionIntervalMs must be in 7.5..4000');
  }
  if (
    p.supervisionTimeoutMs !== undefined &&
    !(p.supervisionTimeoutMs >= 100 && p.supervisionTimeoutMs <= 32000)
  ) {
    throw new TypeError('supervisionTimeoutMs must be in 100..32000');
  }
}

export interface GoodputQuery {
  /** ATT MTU in force. */
  attMtu: number;
  /** LL data PDU payload size in force (27 without data length extension, up to 251). */
  llOctets: number;
  /** Connection interval in ms. */
  connectionIntervalMs: number;
  /**
   * The host's ACL fragment size for writes toward the peripheral (LE Read Buffer Size):
   * the controller segments each ACL fragment separately. Ignored toward the central,
   * where the peripheral segments whole L2CAP PDUs. Default: no host fragmentation.
   */
  aclLength?: number;
  /** The saturated direction: toward the peripheral (write commands) or the central (notifications, default). */
  toPeripheral?: boolean;
}

/**
 * Expected data packets delivered by an event of at most `k` exchanges when each packet is
 * lost with `p` and two exchanges in a row in which the central heard nothing valid close
 * the event (Vol 6 Part B §4.5.6). A peripheral that missed the central's packet does not
 * answer; toward the central, a delivery needs both packets of the exchange; toward the
 * peripheral, the central's packet alone.
 */
export function deliveriesPerEvent(k: number, p: number, toPeripheral: boolean): number {
  const heard = (1 - p) * (1 - p);
  const deliveredDeaf = toPeripheral ? (1 - p) * p : 0;
  let open0 = 1; // alive, last exchange heard
  let open1 = 0; // alive, one deaf exchange behind
  let delivered = 0;
  for (let n = 0; n < k && open0 + open1 > 1e-12; n++) {
    const alive = open0 + open1;
    delivered += alive * (heard + deliveredDeaf);
    const next1 = open0 * (1 - heard);
    open0 = alive * heard;
    open1 = next1;
  }
  return delivered;
}

/**
 * The link's theoretical goodput alone on the air: bytes per simulated second of ATT value
 * payload (write command or notification values of MTU − 3 bytes) in one direction, when
 * that direction is saturated and the other sends empty packets. Each ATT PDU carries 4
 * bytes of L2CAP header and 3 of ATT header and is cut into LL PDUs; connection events are
 * packed exchange by exchange with each packet's air time on the PHY, within the event's
 * budget (interval − T_IFS) and the link's cap; loss thins each event's deliveries as
 * `deliveriesPerEvent` says. Loss from distance and random disconnects are not in
 * it: the first depends on where the lock is, the second costs reconnections, which is the
 * reader's business.
 */
export function linkGoodput(
  link: Pick<LinkParams, 'packetsPerInterval' | 'lossRate'> & { phy?: Phy },
  q: GoodputQuery,
): number {
  const phy = link.phy ?? '1m';
  const l2capLength = q.attMtu + 4;
  const fragments: number[] = [];
  if (q.aclLength !== undefined && q.aclLength < l2capLength) {
    for (let left = l2capLength; left > 0; left -= q.aclLength) fragments.push(Math.min(left, q.aclLength));
  } else {
    fragments.push(l2capLength);
  }
  const pieces: number[] = [];
  for (const f of fragments)
    for (let left = f; left > 0; left -= q.llOctets) pieces.push(Math.min(left, q.llOctets));
  // Events cut the sequence of pieces anywhere; enough events average the cut out.
  const events = 240;
  const budget = eventBudgetUs(q.connectionIntervalMs);
  const cap = link.packetsPerInterval ?? Number.POSITIVE_INFINITY;
  let sent = 0;
  let delivered = 0;
  for (let e = 0; e < events; e++) {
    let used = 0;
    let k = 0;
    for (let n = 0; n < cap; n++) {
      const cost = exchangeAirUs(phy, pieces[(sent + k) % pieces.length]!, 0);
      if (used + cost > budget) break;
      used += cost;
      k++;
    }
    sent += k;
    delivered += deliveriesPerEvent(k, link.lossRate, q.toPeripheral === true);
  }
  const attPdus = delivered / pieces.length;
  const seconds = (events * q.connectionIntervalMs) / 1000;
  return ((q.attMtu - 3) * attPdus) / seconds;
}

/** Rounds to the 1.25 ms unit and clamps to the spec's range; returns the interval in units. */
export function intervalUnits(ms: number): number {
  return Math.min(0x0c80, Math.max(0x0006, Math.round(ms / 1.25)));
}
