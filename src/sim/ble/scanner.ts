import { AdvType, Status } from './hci-constants.js';
import { type AdvertisingReport, leAdvertisingReport } from './hci-events.js';
import type { SimPeripheral } from './peripheral.js';

/** Bounded like a controller's filter table; past it, old entries are forgotten and may repeat. */
const DUPLICATE_FILTER_SIZE = 1024;

/**
 * The controller's scanner: LE Set Scan Parameters / Enable, and the advertising reports
 * an advertising event yields — ADV_IND (or its non-connectable kinds), then SCAN_RSP when
 * scanning actively — with duplicate filtering when the host asks for it.
 */
export class Scanner {
  enabled = false;
  #active = false;
  /** LE_Scan_Interval and LE_Scan_Window, ms (the spec's defaults: 10 ms each). */
  intervalMs = 10;
  windowMs = 10;
  #filterDuplicates = false;
  #seen = new Set<string>();
  /** Reports produced (after duplicate filtering). */
  reports = 0;

  reset(): void {
    this.enabled = false;
    this.#active = false;
    this.intervalMs = 10;
    this.windowMs = 10;
    this.#filterDuplicates = false;
    this.#seen.clear();
  }

  /** LE Set Scan Parameters; returns the command's status. */
  setParameters(p: Buffer): number {
    const type = p.readUInt8(0);
    const interval = p.readUInt16LE(1);
    const window = p.readUInt16LE(3);
    if (this.enabled) return Status.CommandDisallowed;
    if (type > 1 || interval < 4 || interval > 0x4000 || window < 4 || window > interval) {
      return Status.InvalidParameters;
    }
    this.#active = type === 1;
    this.intervalMs = interval * 0.625;
    this.windowMs = window * 0.625;
    return Status.Success;
  }

  /** LE Set Scan Enable; returns the command's status. */
  setEnable(p: Buffer): number {
    const enable = p.readUInt8(0) === 1;
    // Enabling starts a new duplicate filter (Vol 4 Part E §7.8.11).
    if (enable && !this.enabled) this.#seen.clear();
    this.enabled = enable;
    this.#filterDuplicates = p.readUInt8(1) === 1;
    return Status.Success;
  }

  /**
   * The LE Advertising Report events one advertising event of `p` that reached the radio
   * yields (none when the scan window missed it). `scanResponse`: whether the SCAN_REQ and
   * SCAN_RSP of active scanning got through.
   */
  hear(p: SimPeripheral, rssi: number, random: () => number, scanResponse = true): Buffer[] {
    if (!this.enabled || random() >= this.windowMs / this.intervalMs) return [];
    const out: Buffer[] = [];
    const type = p.connectable
      ? AdvType.AdvInd
      : p.scanResponseData
        ? AdvType.AdvScanInd
        : AdvType.AdvNonconnInd;
    const base = { addressType: p.addressType, address: p.address, rssi };
    this.#report(out, { ...base, type, data: p.advertisingData });
    if (this.#active && p.scanResponseData && scanResponse)
      this.#report(out, { ...base, type: AdvType.ScanRsp, data: p.scanResponseData });
    return out;
  }

  #report(out: Buffer[], r: AdvertisingReport): void {
    if (this.#filterDuplicates) {
      // Keyed on the payload too, so a lock whose advertised state changed is reported again.
      const key = `${r.address}/${r.type}/${Buffer.from(r.data).toString('hex')}`;
      if (this.#seen.has(key)) return;
      if (this.#seen.size >= DUPLICATE_FILTER_SIZE) this.#seen.delete(this.#seen.values().next().value!);
      this.#seen.add(key);
    }
    this.reports++;
    out.push(leAdvertisingReport(r));
  }
}
