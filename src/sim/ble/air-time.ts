/**
 * The physics that bounds a BLE radio: how long a packet occupies the air, how many fit a
 * connection event, how likely one is to be received at a given signal strength, and how
 * often advertisements of many locks collide. Pure functions; sources in docs/BLE-SIM.md.
 */

/** LE PHYs in the model (Core 5.3 Vol 6 Part B §1.2): 1 Msym/s and 2 Msym/s, uncoded. */
export type Phy = '1m' | '2m';

export const PHYS: readonly Phy[] = ['1m', '2m'];

/** Inter frame space between packets of one connection or advertising event (Vol 6 Part B §4.1.1). */
export const T_IFS_US = 150;

const US_PER_OCTET: Record<Phy, number> = { '1m': 8, '2m': 4 };
/** The 2M PHY's preamble is two octets (Vol 6 Part B §2.1.1). */
const PREAMBLE_OCTETS: Record<Phy, number> = { '1m': 1, '2m': 2 };
/** Access address 4, PDU header 2, CRC 3; no MIC: the links are not encrypted. */
const OVERHEAD_OCTETS = 4 + 2 + 3;

/** Air time of one link-layer packet with `payload` octets of PDU payload, µs. */
export function packetAirUs(phy: Phy, payload: number): number {
  return (PREAMBLE_OCTETS[phy] + OVERHEAD_OCTETS + payload) * US_PER_OCTET[phy];
}

/** One exchange of a connection event: the central's packet, T_IFS, the peripheral's, T_IFS. µs. */
export function exchangeAirUs(phy: Phy, centralPayload: number, peripheralPayload: number): number {
  return packetAirUs(phy, centralPayload) + T_IFS_US + packetAirUs(phy, peripheralPayload) + T_IFS_US;
}

/**
 * The air time a connection event may use: it must close T_IFS before the next anchor point
 * (Vol 6 Part B §4.5.1), µs.
 */
export function eventBudgetUs(intervalMs: number): number {
  return intervalMs * 1000 - T_IFS_US;
}

/** Full-size data packets one way (empty ones back) that fit one connection event. */
export function packetsPerEvent(phy: Phy, intervalMs: number, llOctets: number): number {
  return Math.max(1, Math.floor(eventBudgetUs(intervalMs) / exchangeAirUs(phy, llOctets, 0)));
}

/**
 * Receiver sensitivity by PHY, dBm: the input level at which the bit error rate is 0.1 %
 * (Vol 6 Part A §4.1). 1M: −95 dBm, what current BLE chips state (nRF52840, −95; CC2642R,
 * −97; the spec only demands −70). 2M: 3 dB worse, twice the bandwidth and so twice the noise.
 */
export const SENSITIVITY_DBM: Record<Phy, number> = { '1m': -95, '2m': -92 };

/** Eb/N0 (linear) at which ½·exp(−γ/2) is 0.1 %: the sensitivity's defining point. */
const GAMMA_AT_SENSITIVITY = 2 * Math.log(500);

/**
 * Bit error rate `marginDb` above (negative: below) the receiver's sensitivity. Non-coherent
 * GFSK, BER = ½·exp(−γ/2), with the signal-to-noise ratio γ scaling with the received power
 * and fixed by BER = 0.1 % at the sensitivity. A few dB make the difference between clean
 * and deaf: that is the sharp edge of range a real receiver shows.
 */
export function bitErrorRate(marginDb: number): number {
  const gamma = GAMMA_AT_SENSITIVITY * 10 ** (marginDb / 10);
  return 0.5 * Math.exp(-gamma / 2);
}

/** Probability that a packet of `payload` octets on `phy` arrives with at least one bit wrong. */
export function packetErrorRate(phy: Phy, marginDb: number, payload: number): number {
  if (marginDb === Number.POSITIVE_INFINITY) return 0;
  const bits = (packetAirUs(phy, payload) / US_PER_OCTET[phy]) * 8;
  const ber = bitErrorRate(marginDb);
  // 1 − (1 − ber)^bits without losing precision for tiny ber.
  return -Math.expm1(bits * Math.log1p(-ber));
}

/** Payload of an ADV_IND with the lock's 31-byte advertising data: AdvA 6 + AdvData. */
export const ADV_IND_PAYLOAD = 6 + 31;
/** CONNECT_IND: InitA 6, AdvA 6, LLData 22 (Vol 6 Part B §2.3.3.1). */
export const CONNECT_IND_PAYLOAD = 34;

/**
 * Probability that one advertising packet overlaps no packet of `others` advertisers on the
 * same channel: pure ALOHA, exp(−2·n·τ/T). Every lock sends on all three primary channels in
 * turn and a scanner listens on one at a time, so the channel's traffic is each lock's
 * interval; overlapping packets are both lost (no capture effect in the model).
 */
export function advertisingSurvival(others: number, packetUs: number, meanIntervalMs: number): number {
  if (others <= 0) return 1;
  return Math.exp((-2 * others * packetUs) / (meanIntervalMs * 1000));
}
