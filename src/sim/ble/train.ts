import type { Presence } from './peripheral.js';

export interface TrainPassage {
  /** Simulated ms at which the first lock comes into range. Default 0. */
  startMs?: number;
  /** Distance between consecutive locks along the track, m (a 40-ft container wagon is ~15 m). Default 15. */
  spacingM?: number;
  /** Train speed, m/s. Default 2.8 (10 km/h, a checkpoint crawl). */
  speedMps?: number;
  /** Radio range of the gateway, m. Default 60. */
  rangeM?: number;
  /** Distance from the gateway's antenna to the track, m. Default 8. */
  lateralM?: number;
  /** RSSI at 1 m, dBm. Default -59 (a lock at 0 dBm TX power). */
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
  const { startMs = 0, spacingM = 15, speedMps = 2.8, rangeM = 60, lateralM = 8 } = t;
  const { rssiAt1mDbm = -59, pathLossExponent = 2.5 } = t;
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
