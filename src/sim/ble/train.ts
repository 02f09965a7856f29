import type { Presence } from './peripheral.js';

/**
 * What a 0 dBm BLE transmitter typically shows at 1 m: −59 dBm is the usual calibrated "measured
 * power" of beacons (free space alone would give −40 dBm at 2.44 GHz; small antennas and
 * housings lose the rest).
 */
export const DEFAULT_RSSI_AT_1M_DBM = -59;
/** Distance from the gateway's antenna to the track, m. */
export const DEFAULT_LATERAL_M = 8;
/** 2 in free space; 2.5 along a train, with steel wagons around and ballast below. */
export const DEFAULT_PATH_LOSS_EXPONENT = 2.5;
/** Margin below the sensitivity at which nothing is heard any more (packet error rate ≈ 1). */
const DEAF_MARGIN_DB = -6;

/** Distance at which the mean signal falls to `sensitivityDbm`: the edge of what is heard, m. */
export function audibleRange(
  sensitivityDbm: number,
  rssiAt1mDbm = DEFAULT_RSSI_AT_1M_DBM,
  pathLossExponent = DEFAULT_PATH_LOSS_EXPONENT,
): number {
  return 10 ** ((rssiAt1mDbm - sensitivityDbm) / (10 * pathLossExponent));
}

/**
 * The signal and horizon for a lock heard up to `audibleM` (mean signal at the sensitivity
 * there): the signal at 1 m that gives it — a stronger lock or a better antenna — and the
 * horizon where the margin is 6 dB short and nothing is heard, beyond which the simulation
 * leaves the lock out.
 */
export function passageForAudibleRange(
  audibleM: number,
  sensitivityDbm: number,
  pathLossExponent = DEFAULT_PATH_LOSS_EXPONENT,
): Required<Pick<TrainPassage, 'rssiAt1mDbm' | 'rangeM'>> {
  return {
    rssiAt1mDbm: sensitivityDbm + 10 * pathLossExponent * Math.log10(audibleM),
    rangeM: audibleM * 10 ** (-DEAF_MARGIN_DB / (10 * pathLossExponent)),
  };
}

export interface TrainPassage {
  /** Simulated ms at which the first lock comes into range. Default 0. */
  startMs?: number;
  /** Distance between consecutive locks along the track, m (a 40-ft container wagon is ~15 m). Default 15. */
  spacingM?: number;
  /** Train speed, m/s. Default 2.8 (10 km/h, a checkpoint crawl). */
  speedMps?: number;
  /**
   * Where a lock enters and leaves the simulation, m from the antenna. Default 60: beyond the
   * ~28 m at which the default signal reaches the receiver's sensitivity, so what is heard is
   * decided by the signal, not by this horizon.
   */
  rangeM?: number;
  /** Distance from the gateway's antenna to the track, m. Default DEFAULT_LATERAL_M (8). */
  lateralM?: number;
  /** RSSI at 1 m, dBm. Default −59 (DEFAULT_RSSI_AT_1M_DBM). */
  rssiAt1mDbm?: number;
  /** Path-loss exponent (2 in free space, more around steel wagons). Default 2.5. */
  pathLossExponent?: number;
}

export interface LockPassage {
  presence: Required<Presence>;
  /** Mean RSSI as a function of simulated ms: strongest when the lock passes the antenna. */
  rssiDbm: (simMs: number) => number;
  /** Simulated ms at which the lock is closest to the antenna. */
  closestAtMs: number;
}

/**
 * Geometry of a train rolling past the gateway: lock `index` (0 = first wagon) enters range
 * when it is `rangeM` from the antenna, passes it, and leaves on the other side; its RSSI
 * follows log-distance path loss. Plain numbers for SimPeripheral's presence and RSSI.
 */
export function trainPassage(index: number, t: TrainPassage = {}): LockPassage {
  const { startMs = 0, spacingM = 15, speedMps = 2.8, rangeM = 60, lateralM = DEFAULT_LATERAL_M } = t;
  const { rssiAt1mDbm = DEFAULT_RSSI_AT_1M_DBM, pathLossExponent = DEFAULT_PATH_LOSS_EXPONENT } = t;
  if (!(speedMps > 0) || !(rangeM > lateralM) || !(spacingM >= 0)) {
    throw new TypeError('trainPassage needs speedMps > 0, rangeM > lateralM and spacingM >= 0');
  }
  const alongTrack = Math.sqrt(rangeM * rangeM - lateralM * lateralM);
  const arriveAtMs = startMs + ((index * spacingM) / speedMps) * 1000;
  const dwellMs = ((2 * alongTrack) / speedMps) * 1000;
  const closestAtMs = arriveAtMs + dwellMs / 2;
  return {
    presence: { arriveAtMs, dwellMs },
    closestAtMs,
    rssiDbm: (simMs) => {
      const x = ((simMs - closestAtMs) / 1000) * speedMps;
      const d = Math.max(1, Math.sqrt(x * x + lateralM * lateralM));
      return rssiAt1mDbm - 10 * pathLossExponent * Math.log10(d);
    },
  };
}
