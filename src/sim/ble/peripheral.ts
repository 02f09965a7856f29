import { MAX_AD_LENGTH } from './advertising-data.js';
import { type GattServiceSpec, lockGattServices } from './gatt-db.js';
import { LL_MAX_OCTETS, LL_MIN_OCTETS } from './hci-constants.js';
import { type LinkParams, validateLinkParams } from './link-params.js';
import type { SimPeripheralApp } from './peripheral-app.js';

/** When a peripheral is within radio range, in simulated ms since the world's clock started. */
export interface Presence {
  /** Default 0: in range from the start. */
  arriveAtMs?: number;
  /** How long it stays in range. Default: for ever. */
  dwellMs?: number;
}

export interface SimPeripheralOptions {
  /** "aa:bb:cc:dd:ee:ff". A random static address has the two top bits set (c0:… to ff:…). */
  address: string;
  /** Default 'random' (what battery devices use). */
  addressType?: 'public' | 'random';
  /** ADV_IND payload (AD structures, ≤ 31 bytes). */
  advertisingData: Uint8Array;
  /** SCAN_RSP payload (≤ 31 bytes); none: the device is not scannable. */
  scanResponseData?: Uint8Array;
  /** Advertising interval in ms (20 ms .. 10.24 s); the spec adds 0-10 ms of random delay. Default 100. */
  advertisingIntervalMs?: number;
  /** Default true. */
  connectable?: boolean;
  /** Keep advertising while connected. Default false: like most firmware, it stops. */
  advertiseWhileConnected?: boolean;
  /** RSSI seen by the gateway in dBm, fixed or as a function of simulated ms. Default -60. */
  rssiDbm?: number | ((simMs: number) => number);
  /** Standard deviation of the Gaussian noise added to each RSSI sample, dB. Default 2. */
  rssiNoiseDb?: number;
  presence?: Presence;
  /** Largest ATT MTU the peripheral accepts (its Exchange MTU answer). Default 247. */
  maxMtu?: number;
  /** Largest LL data PDU payload the peripheral supports: 27 (no data length extension) .. 251. Default 251. */
  maxLlOctets?: number;
  /** Notifications the peripheral's TX buffer holds before `notify` returns false. Default 8. */
  txBufferDepth?: number;
  /** Overrides of the world's link parameters for connections to this peripheral. */
  link?: Partial<LinkParams>;
  /** GATT services. Default: lockGattServices(name). */
  gatt?: readonly GattServiceSpec[];
  /** 'silent': a hostile device that never answers ATT (the central then waits for ever). Default 'normal'. */
  att?: 'normal' | 'silent';
  /** What runs inside. */
  app: SimPeripheralApp;
  /** For logs and the GAP Device Name. Default: the address. */
  name?: string;
}

function checkAd(what: string, bytes: Uint8Array | undefined): void {
  if (bytes && bytes.byteLength > MAX_AD_LENGTH)
    throw new TypeError(`${what} is ${bytes.byteLength} bytes; at most 31`);
}

/** One simulated BLE device in the world. Its advertising payloads may change while it runs. */
export class SimPeripheral {
  readonly address: string;
  readonly addressType: 'public' | 'random';
  readonly advertisingIntervalMs: number;
  readonly connectable: boolean;
  readonly advertiseWhileConnected: boolean;
  readonly rssiNoiseDb: number;
  readonly presence: Readonly<Required<Pick<Presence, 'arriveAtMs'>> & Presence>;
  readonly maxMtu: number;
  readonly maxLlOctets: number;
  readonly txBufferDepth: number;
  readonly link: Readonly<Partial<LinkParams>>;
  readonly gatt: readonly GattServiceSpec[];
  readonly att: 'normal' | 'silent';
  readonly app: SimPeripheralApp;
  readonly name: string;
  /** ATT PDUs received from centrals over all connections, by opcode: what clients asked. */
  readonly attReceived = new Map<number, number>();
  #rssi: number | ((simMs: number) => number);
  #advertisingData: Buffer;
  #scanResponseData: Buffer | undefined;

  constructor(o: SimPeripheralOptions) {
    const address = o.address.toLowerCase();
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(address))
      throw new TypeError(`not a device address: ${o.address}`);
    checkAd('advertisingData', o.advertisingData);
    checkAd('scanResponseData', o.scanResponseData);
    const interval = o.advertisingIntervalMs ?? 100;
    if (!(interval >= 20 && interval <= 10240))
      throw new TypeError('advertisingIntervalMs must be in 20..10240');
    const maxLl = o.maxLlOctets ?? LL_MAX_OCTETS;
    if (!(Number.isInteger(maxLl) && maxLl >= LL_MIN_OCTETS && maxLl <= LL_MAX_OCTETS)) {
      throw new TypeError('maxLlOctets must be an integer in 27..251');
    }
    const depth = o.txBufferDepth ?? 8;
    if (!(Number.isInteger(depth) && depth >= 1))
      throw new TypeError('txBufferDepth must be an integer >= 1');
    validateLinkParams(o.link ?? {});
    this.address = address;
    this.addressType = o.addressType ?? 'random';
    this.#advertisingData = Buffer.from(o.advertisingData);
    this.#scanResponseData = o.scanResponseData ? Buffer.from(o.scanResponseData) : undefined;
    this.advertisingIntervalMs = interval;
    this.connectable = o.connectable ?? true;
    this.advertiseWhileConnected = o.advertiseWhileConnected ?? false;
    this.#rssi = o.rssiDbm ?? -60;
    this.rssiNoiseDb = o.rssiNoiseDb ?? 2;
    this.presence = { arriveAtMs: 0, ...o.presence };
    this.maxMtu = o.maxMtu ?? 247;
    this.maxLlOctets = maxLl;
    this.txBufferDepth = depth;
    this.link = { ...o.link };
    this.name = o.name ?? address;
    this.gatt = o.gatt ?? lockGattServices(this.name);
    this.att = o.att ?? 'normal';
    this.app = o.app;
  }

  get advertisingData(): Buffer {
    return this.#advertisingData;
  }

  get scanResponseData(): Buffer | undefined {
    return this.#scanResponseData;
  }

  /** New advertising payloads (a lock whose event count or seal state changed). */
  setAdvertising(advertisingData: Uint8Array, scanResponseData?: Uint8Array): void {
    checkAd('advertisingData', advertisingData);
    checkAd('scanResponseData', scanResponseData);
    this.#advertisingData = Buffer.from(advertisingData);
    this.#scanResponseData = scanResponseData ? Buffer.from(scanResponseData) : undefined;
  }

  /** Mean RSSI at simulated time `simMs`, before noise. */
  meanRssi(simMs: number): number {
    return typeof this.#rssi === 'number' ? this.#rssi : this.#rssi(simMs);
  }

  /** Whether the peripheral is in range at simulated time `simMs`. */
  inRangeAt(simMs: number): boolean {
    const { arriveAtMs, dwellMs } = this.presence;
    return simMs >= arriveAtMs && (dwellMs === undefined || simMs < arriveAtMs + dwellMs);
  }

  toString(): string {
    return `${this.name} (${this.address})`;
  }
}
