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
  /** LL data PDUs that fit one connection event, in each direction. Default 4. */
  packetsPerInterval: number;
  /**
   * Probability that one LL data PDU transmission is lost (each direction, each attempt).
   * The link layer retransmits it at the next opportunity: loss costs slots, never data.
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
  packetsPerInterval: 4,
  lossRate: 0,
  disconnectRatePerSecond: 0,
};

export function validateLinkParams(p: Partial<LinkParams>): void {
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
}

/**
 * The link's theoretical goodput: bytes per simulated second of ATT value payload (write
 * command or notification values of MTU − 3 bytes) in one direction, when that direction
 * is saturated. Each PDU carries 4 bytes of L2CAP header and 3 of ATT header; a lost LL PDU
 * is sent again, so the expected slots per PDU grow by 1 / (1 − lossRate). Random
 * disconnects are not in it: they cost reconnections, which is the reader's business.
 */
export function linkGoodput(
  link: Pick<LinkParams, 'packetsPerInterval' | 'lossRate'>,
  q: GoodputQuery,
): number {
  const value = q.attMtu - 3;
  const l2capLength = q.attMtu + 4;
  let llPdus: number;
  if (q.aclLength !== undefined && q.aclLength < l2capLength) {
    const full = Math.floor(l2capLength / q.aclLength);
    const rest = l2capLength - full * q.aclLength;
    llPdus = full * Math.ceil(q.aclLength / q.llOctets) + (rest > 0 ? Math.ceil(rest / q.llOctets) : 0);
  } else {
    llPdus = Math.ceil(l2capLength / q.llOctets);
  }
  const pdusPerSecond = (link.packetsPerInterval * (1 - link.lossRate) * 1000) / q.connectionIntervalMs;
  return (value * pdusPerSecond) / llPdus;
}

/** Rounds to the 1.25 ms unit and clamps to the spec's range; returns the interval in units. */
export function intervalUnits(ms: number): number {
  return Math.min(0x0c80, Math.max(0x0006, Math.round(ms / 1.25)));
}
