import { EventEmitter } from 'node:events';
import { type HciBindingsOptions, type Noble, type Peripheral, withBindings } from '@stoprocent/noble';
import { type Clock, systemClock, withTimeout } from '../../clock.js';
import { CtopError } from '../../errors.js';
import { type Logger, silentLogger } from '../../log.js';
import { AcceptListInitiator, type AcceptListPeer } from './accept-list-initiator.js';
import { type LockAdvertisement, parseLockAdvertisement } from './ble-advertising.js';
import {
  BleLink,
  type BleLinkOptions,
  connectionIntervalUnits,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_CONNECTION_INTERVAL_MS,
  NOBLE_SERVICE_UUID,
} from './ble-link.js';
import { stopNoble } from './noble-stop.js';

/**
 * Weight of a new advertisement's RSSI in the smoothed signal: about the last five samples
 * (half a second at 100 ms advertising), which halves the spread of a 2 dB fade while a lock
 * passing at 40 km/h moves 5 m.
 */
const RSSI_SMOOTHING = 1 / 3;

/** HCI status Command Disallowed (Core 5.3 Vol 1 Part F). */
const COMMAND_DISALLOWED = 0x0c;

/** A lock heard advertising. */
export interface LockSighting {
  address: string;
  advertisement: LockAdvertisement;
  /** Latest received signal strength, dBm. */
  rssi: number;
  /** Strongest signal heard so far: the lock was then closest to the antenna. */
  bestRssi: number;
  /**
   * The signal smoothed over the last few advertisements, dBm: one sample fades by several dB
   * (multipath), so a trend is read from this, not from `rssi`.
   */
  meanRssi: number;
  /** The strongest `meanRssi` so far: a lock whose smoothed signal fell well below it is moving away. */
  peakMeanRssi: number;
  /** When first and last heard, on the radio clock's monotonic milliseconds (for ordering, not display). */
  firstSeenAt: number;
  lastSeenAt: number;
  /** The radio's listening time (BleRadio.listenedMs) when last heard. */
  heardAtListenMs: number;
}

export interface BleRadioEvents {
  /** First sight of a lock, or its advertisement changed (seal state, event count, manifest). */
  sighting: [LockSighting];
  /** Every advertising report of a lock, at `sighting.lastSeenAt` (scan responses included). */
  heard: [LockSighting];
}

export interface BleRadioOptions extends BleLinkOptions {
  /**
   * How noble reaches the controller: `{ deviceId: 0 }` for the kernel HCI socket (hci0),
   * or `{ hciDriver: 'uart', bindParams: { uart: { port, baudRate } } }` for HCI over a
   * serial line (the simulated radio uses this).
   */
  bindings: HciBindingsOptions;
  poweredOnTimeoutMs?: number;
  /**
   * Keep scanning while a connection attempt is under way. Default true; a controller that
   * cannot (it refuses the scan) turns it off by itself, with a warning.
   */
  scanWhileConnecting?: boolean;
  /**
   * Use the controller's Filter Accept List for `openFirst` when it has one. Default true;
   * false leaves `acceptListSize` 0 (callers connect one named lock at a time).
   */
  acceptList?: boolean;
  /**
   * The scan interval (= window: the scan is continuous), ms, 2.5–10240. Default 1000. noble
   * asks for 11.25 ms; on a controller that starts each scan interval by cutting the link
   * event under way (Zephyr's link layer), that gives the scanner a third of the air beside
   * two links moving data. A long interval lets links keep the air and the scanner hear in
   * what they leave (docs/BLE-SIM.md, "The scanner's share").
   */
  scanIntervalMs?: number;
  clock?: Clock;
}

const DEFAULT_SCAN_INTERVAL_MS = 1000;

/** noble's HCI layer: it sends LE Set Scan Parameters with its own defaults before every scan. */
type NobleScanParameters = {
  _bindings?: { _hci?: { setScanParameters?: (interval?: number, window?: number) => void } };
};

/**
 * Makes noble scan continuously with an interval of `intervalMs` instead of its 11.25 ms:
 * noble's gap sends LE Set Scan Parameters with no arguments before each scan start, so its
 * HCI layer's defaults are replaced (0.625 ms units, Core 5.3 Vol 4 Part E §7.8.10).
 */
function scanContinuouslyEvery(noble: Noble, intervalMs: number): void {
  const hci = (noble as unknown as NobleScanParameters)._bindings?._hci;
  const set = hci?.setScanParameters?.bind(hci);
  if (!hci || !set) return;
  const units = Math.round(intervalMs / 0.625);
  hci.setScanParameters = (interval = units, window = units) => set(interval, window);
}

/** Where noble keeps its HCI layer: the status of LE Set Scan Enable is seen only there. */
type NobleHci = {
  _bindings?: { _hci?: EventEmitter & { createLeConnAfterReset?: (...args: unknown[]) => unknown } };
};

/**
 * The gateway's Bluetooth radio through noble: scans for locks by the CTOP service UUID,
 * keeps what each advertises, and opens BleLinks. noble stops scanning when it connects
 * and does not resume (docs/BLE-SIM.md), so the radio scans again behind each connection
 * request (where the controller can) and after every attempt.
 */
export class BleRadio extends EventEmitter<BleRadioEvents> {
  readonly #noble: Noble;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #linkOptions: BleLinkOptions;
  readonly #peripherals = new Map<string, Peripheral>();
  readonly #sightings = new Map<string, LockSighting>();
  /** Locks whose announced handles did not answer (PROTOCOL.md §13.5): discovered from now on. */
  readonly #announcedFailed = new Set<string>();
  #scanning = false;
  #closed = false;
  /** A scan start sent and not yet confirmed. */
  #scanStarting: Promise<void> | undefined;
  /** Connection attempts under way: noble stops scanning for them, so it resumes only after the last. */
  #connecting = 0;
  /** Settles when the connection attempt under way is over: the next goes out after it. */
  #attempt: Promise<void> = Promise.resolve();
  #scanWhileConnecting: boolean;
  /** The controller's Filter Accept List, when it has one (openFirst). */
  #acceptList: AcceptListInitiator | undefined;
  /**
   * Which LE Set Scan Enable completions tell whether the controller scans while it connects:
   * those during a start behind a connection request, and the one next after it.
   */
  #watchScanEnable: 'off' | 'starting' | 'next' = 'off';
  #listening = false;
  #listenedMs = 0;
  #listeningSince = 0;

  private constructor(noble: Noble, options: BleRadioOptions) {
    super();
    this.#noble = noble;
    this.#log = (options.log ?? silentLogger).child({ component: 'ble-radio' });
    this.#clock = options.clock ?? systemClock;
    this.#scanWhileConnecting = (options.scanWhileConnecting ?? true) && this.#hookConnectionRequests();
    this.#linkOptions = {
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.gattTimeoutMs !== undefined ? { gattTimeoutMs: options.gattTimeoutMs } : {}),
      ...(options.connectionIntervalMs !== undefined
        ? { connectionIntervalMs: options.connectionIntervalMs }
        : {}),
      clock: this.#clock,
      log: this.#log,
    };
    noble.on('discover', (p) => this.#onDiscover(p));
    noble.on('scanStart', () => {
      if (!this.#listening) this.#listeningSince = this.#clock.monotonic();
      this.#listening = true;
    });
    noble.on('scanStop', () => {
      if (this.#listening) this.#listenedMs += this.#clock.monotonic() - this.#listeningSince;
      this.#listening = false;
    });
  }

  /**
   * Milliseconds spent scanning so far. A lock has left range when it went unheard for a
   * while *of listening*: a controller that cannot scan while it connects is deaf then, and
   * silence then means nothing.
   */
  listenedMs(): number {
    return this.#listenedMs + (this.#listening ? this.#clock.monotonic() - this.#listeningSince : 0);
  }

  static async open(options: BleRadioOptions): Promise<BleRadio> {
    const scanIntervalMs = options.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
    if (!(scanIntervalMs >= 2.5 && scanIntervalMs <= 10_240)) {
      throw new RangeError(`BLE scan interval must be 2.5–10240 ms, got ${scanIntervalMs}`);
    }
    const noble = withBindings('hci', options.bindings);
    try {
      await noble.waitForPoweredOnAsync(options.poweredOnTimeoutMs ?? 10_000);
    } catch (err) {
      stopNoble(noble, options.log);
      throw new CtopError('E_BLE_ADAPTER', `Bluetooth adapter not ready: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const radio = new BleRadio(noble, options);
    scanContinuouslyEvery(noble, scanIntervalMs);
    if (options.acceptList ?? true) {
      radio.#acceptList = await AcceptListInitiator.attach(
        (noble as unknown as NobleHci)._bindings?._hci,
        options.clock ?? systemClock,
        connectionIntervalUnits(options.connectionIntervalMs ?? DEFAULT_CONNECTION_INTERVAL_MS),
      ).catch(() => undefined);
      if (!radio.#acceptList) {
        radio.#log.warn(
          'the Bluetooth controller has no Filter Accept List: connecting one named lock at a time, and fewer locks of a fast train get read',
        );
      }
    }
    return radio;
  }

  /** Locks heard so far, by address. */
  get sightings(): ReadonlyMap<string, LockSighting> {
    return this.#sightings;
  }

  async startScanning(): Promise<void> {
    this.#scanning = true;
    // Duplicates on: every advertising event refreshes RSSI and last-seen (a lock leaving range).
    await this.#noble.startScanningAsync([NOBLE_SERVICE_UUID], true);
  }

  async stopScanning(): Promise<void> {
    this.#scanning = false;
    await this.#noble.stopScanningAsync();
  }

  /**
   * When each advertising report of `address` arrived over the next `durationMs` (the radio
   * clock's monotonic milliseconds), scanning meanwhile: what the conformance kit judges a
   * lock's advertising interval by. One advertising event may give two reports (ADV_IND and
   * its scan response) a moment apart.
   */
  async reportsOf(address: string, durationMs: number): Promise<number[]> {
    const times: number[] = [];
    const onHeard = (s: LockSighting) => {
      if (s.address === address) times.push(s.lastSeenAt);
    };
    this.on('heard', onHeard);
    try {
      if (!this.#scanning) await this.startScanning();
      await new Promise<void>((resolve) => {
        if (this.#clock.setTimeout) this.#clock.setTimeout(resolve, durationMs);
        else setTimeout(resolve, durationMs);
      });
    } finally {
      this.off('heard', onHeard);
    }
    return times;
  }

  /**
   * Opens a link to a lock heard at `address`. `connectTimeoutMs` shortens the radio's connect
   * timeout for this attempt (a lock about to leave range), never lengthens it; `onTurn`, when
   * given, is asked for it when the attempt goes out (attempts wait for each other) and may
   * throw to give the attempt up — a lock unheard while the attempt waited may have left;
   * `onAttemptOver` is called once the connection attempt is over, with whether it connected
   * (before the GATT set-up). A lock that announced its GATT handles (§13.5) is reached at
   * them, without discovery, unless they failed before or `gatt` is 'discover'; 'announced'
   * fails the link rather than discover (the conformance kit, judging the announcement).
   */
  async open(
    address: string,
    options: {
      connectTimeoutMs?: number;
      onTurn?: () => { connectTimeoutMs?: number };
      onAttemptOver?: (connected: boolean) => void;
      gatt?: 'auto' | 'discover' | 'announced';
    } = {},
  ): Promise<BleLink> {
    const peripheral = this.#peripherals.get(address);
    if (!peripheral)
      throw new CtopError('E_BLE_CONNECT', `no lock heard at ${address}`, { details: { address } });
    const { previous, attemptOver } = this.#beginAttempt((linked) => options.onAttemptOver?.(linked));
    try {
      await previous;
      const { connectTimeoutMs } = options.onTurn ? options.onTurn() : options;
      return await BleLink.open(
        peripheral,
        this.#linkOptionsFor(address, options.gatt ?? 'auto', connectTimeoutMs),
        attemptOver,
      );
    } finally {
      attemptOver(false);
    }
  }

  /**
   * Entries of the controller's Filter Accept List: how many locks `openFirst` can wait for
   * at once. 0 when the controller has none, or noble's HCI layer is not the one known here.
   */
  get acceptListSize(): number {
    return this.#acceptList?.size ?? 0;
  }

  /**
   * Connects to whichever of `addresses` (locks heard, most wanted first; the first
   * `acceptListSize`) the controller hears first, through its Filter Accept List, and
   * resolves with its address and its link, whose GATT set-up may still fail (the lock
   * connected, then dropped: a failed link of that lock, not of the attempt). Waits behind
   * other attempts like open(); `onAttemptOver` is called once the connection attempt is
   * over, with the address connected, if any. Rejects with E_BLE_CONNECT when none answers
   * within `connectTimeoutMs` or `signal` aborts.
   */
  async openFirst(
    addresses: readonly string[],
    options: {
      connectTimeoutMs: number;
      signal?: AbortSignal;
      onAttemptOver?: (address: string | undefined) => void;
    },
  ): Promise<{ address: string; link: Promise<BleLink> }> {
    const initiator = this.#acceptList;
    if (!initiator)
      throw new CtopError('E_BLE_CONNECT', 'the Bluetooth controller has no Filter Accept List');
    let connectedTo: string | undefined;
    const { previous, attemptOver } = this.#beginAttempt(() => options.onAttemptOver?.(connectedTo));
    try {
      await previous;
      // A controller that cannot scan while it initiates is deaf during the attempt (resumed after).
      if (!this.#scanWhileConnecting && this.#listening)
        await this.#noble.stopScanningAsync().catch(() => undefined);
      const peers = addresses.flatMap((address) => {
        const p = this.#peripherals.get(address);
        return p
          ? [{ address, addressType: p.addressType === 'public' ? ('public' as const) : ('random' as const) }]
          : [];
      });
      let address: string;
      try {
        address = await this.#connectFirst(initiator, peers, options.connectTimeoutMs, options.signal);
      } catch (err) {
        attemptOver(false);
        throw err;
      }
      const peripheral = this.#peripherals.get(address);
      if (!peripheral || options.signal?.aborted) {
        // Connected as the attempt was given up, or to a device noble does not know: not ours to read.
        if (peripheral)
          await withTimeout(this.#clock, peripheral.disconnectAsync(), 2000).catch(() => undefined);
        else
          (this.#noble as unknown as { disconnect(id: string): void }).disconnect(address.replace(/:/g, ''));
        attemptOver(false);
        throw new CtopError('E_BLE_CONNECT', `connection to ${address} not wanted any more`, {
          details: { address },
        });
      }
      connectedTo = address;
      attemptOver(true);
      const link = BleLink.setUp(peripheral, this.#linkOptionsFor(address, 'auto'));
      // Marked handled: a caller that gives the lock up without awaiting its set-up must not
      // crash the process with an unhandled rejection. The caller who awaits still gets it.
      link.catch(() => undefined);
      return { address, link };
    } finally {
      attemptOver(false);
    }
  }

  /**
   * One connection from the list; a controller that refuses it while scanning (Command
   * Disallowed) is not asked to scan during attempts again, as in #onScanEnableSet.
   */
  async #connectFirst(
    initiator: AcceptListInitiator,
    peers: AcceptListPeer[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    try {
      return await initiator.connectFirst(peers, timeoutMs, signal);
    } catch (err) {
      const refusedWhileScanning =
        err instanceof CtopError &&
        err.details?.command === 'LE Create Connection' &&
        err.details.hciStatus === COMMAND_DISALLOWED &&
        this.#listening;
      if (!refusedWhileScanning) throw err;
      this.#cannotScanWhileConnecting(COMMAND_DISALLOWED);
      await this.#noble.stopScanningAsync().catch(() => undefined);
      return initiator.connectFirst(peers, timeoutMs, signal);
    }
  }

  /**
   * Takes the radio's one initiator: `previous` settles when the attempt before is over;
   * `attemptOver` (idempotent) frees it and scans again.
   */
  #beginAttempt(onOver: (linked: boolean) => void): {
    previous: Promise<void>;
    attemptOver: (linked: boolean) => void;
  } {
    // One attempt at a time, each timed from when it goes out: noble would queue the others,
    // and its cancel of a queued attempt (one whose timeout ran out in the queue) cancels the
    // one under way at the controller instead — which then fails with 0x02 while the
    // cancelled one goes out later to a lock that has left.
    this.#connecting++;
    const before = this.#attempt;
    let release!: () => void;
    this.#attempt = new Promise<void>((resolve) => {
      release = resolve;
    });
    let over = false;
    const attemptOver = (linked: boolean) => {
      if (over) return;
      over = true;
      this.#connecting--;
      release();
      this.#resumeScanning();
      onOver(linked);
    };
    // noble stops scanning before it connects only once it has seen scanning start; a
    // connection asked for while a scan start is in flight goes out first — with an HCI
    // Reset when no link is up, which ends the scan the controller then reports started:
    // the radio would believe it listens while deaf.
    const previous = before.then(() => this.#scanStarting);
    return { previous, attemptOver };
  }

  /**
   * The link options for a lock: `connectTimeoutMs` shortens the radio's, never lengthens it;
   * the handles the lock announced (§13.5) unless they failed before or `gatt` says otherwise.
   */
  #linkOptionsFor(
    address: string,
    gatt: 'auto' | 'discover' | 'announced',
    connectTimeoutMs?: number,
  ): BleLinkOptions {
    const linkOptions =
      connectTimeoutMs === undefined
        ? this.#linkOptions
        : {
            ...this.#linkOptions,
            connectTimeoutMs: Math.min(
              connectTimeoutMs,
              this.#linkOptions.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
            ),
          };
    const rxHandle = this.#sightings.get(address)?.advertisement.rxHandle;
    if (gatt === 'announced' && rxHandle === undefined) {
      throw new CtopError('E_BLE_GATT', `the lock at ${address} announces no GATT handles`, {
        details: { address },
      });
    }
    const announced =
      rxHandle !== undefined &&
      (gatt === 'announced' || (gatt === 'auto' && !this.#announcedFailed.has(address)));
    return announced
      ? {
          ...linkOptions,
          announcedRxHandle: rxHandle,
          announcedOnly: gatt === 'announced',
          onAnnouncedHandlesFailed: () => this.#announcedFailed.add(address),
        }
      : linkOptions;
  }

  /**
   * Scanning again as soon as no connection attempt is pending — not after the GATT set-up
   * of the links that did connect, which takes a second or more at long connection intervals
   * while the rest of the train passes unheard. noble creates connections one at a time and
   * stops scanning before each; starting it while one is pending stalls its queue. Not
   * awaited: a link must not wait on scanning.
   */
  #resumeScanning(): void {
    if (this.#connecting > 0 || !this.#scanning || this.#closed) return;
    this.#startingScan(
      this.#noble.startScanningAsync([NOBLE_SERVICE_UUID], true).catch((err: Error) => {
        this.#log.warn({ err: err.message }, 'could not resume scanning');
      }),
    );
  }

  /** A scan start in flight: the next connection attempt waits for it (see open()). */
  #startingScan(starting: Promise<void>): void {
    this.#scanStarting = starting;
    void starting.finally(() => {
      if (this.#scanStarting === starting) this.#scanStarting = undefined;
    });
  }

  /**
   * Learns when noble sends an LE Create Connection: it stops scanning first, and when no
   * link is up it resets the controller before (which ends any scan), so scanning can start
   * again only behind the request. False when noble's HCI layer is not the one known here.
   */
  #hookConnectionRequests(): boolean {
    const hci = (this.#noble as unknown as NobleHci)._bindings?._hci;
    const send = hci?.createLeConnAfterReset;
    if (!hci || typeof send !== 'function') return false;
    hci.createLeConnAfterReset = (...args: unknown[]) => {
      const sent = send.apply(hci, args);
      setImmediate(() => this.#scanWhileInitiating());
      return sent;
    };
    // One listener for the radio's life: one per attempt would pile up when attempts come
    // faster than a second apart.
    hci.on('leScanEnableSet', (status: number) => this.#onScanEnableSet(status));
    return true;
  }

  /**
   * Scanning during a connection attempt, on a controller that scans and initiates at once
   * (most do; LE Read Supported States). noble stops scanning to connect and would leave the
   * radio deaf for the whole attempt — up to its connect timeout, while locks arrive, and a
   * lock whose link dropped cannot be heard coming back. A controller that refuses (Command
   * Disallowed) is not asked again: its radio stays deaf while it connects, as noble intends.
   */
  #scanWhileInitiating(): void {
    if (this.#connecting === 0 || !this.#scanning || this.#closed || !this.#scanWhileConnecting) return;
    this.#watchScanEnable = 'starting';
    this.#startingScan(
      this.#noble
        .startScanningAsync([NOBLE_SERVICE_UUID], true)
        .catch((err: Error) => this.#log.warn({ err: err.message }, 'could not scan while connecting'))
        .finally(() => {
          // The enable's completion follows the start noble reports (its disable's): watch
          // for that one, by order not by time — a loaded gateway may read it seconds later.
          if (this.#watchScanEnable === 'starting') this.#watchScanEnable = 'next';
        }),
    );
  }

  /**
   * noble ignores a failed LE Set Scan Enable and reports the scan started all the same (it
   * takes the completion of the disable it sends first for the start): a failure while a scan
   * during a connection attempt starts is the controller refusing to do both.
   */
  #onScanEnableSet(status: number): void {
    const watched = this.#watchScanEnable;
    if (watched === 'next') this.#watchScanEnable = 'off';
    if (status === 0 || !this.#scanWhileConnecting || watched === 'off') return;
    this.#cannotScanWhileConnecting(status);
    void this.#noble.stopScanningAsync().catch(() => undefined);
  }

  #cannotScanWhileConnecting(status: number): void {
    if (!this.#scanWhileConnecting) return;
    this.#scanWhileConnecting = false;
    this.#log.warn(
      { hciStatus: `0x${status.toString(16).padStart(2, '0')}` },
      'the Bluetooth controller cannot scan while it connects: the radio is deaf during connection attempts, and fewer locks of a fast train get read',
    );
  }

  /** Forgets a lock (it left; a later advertisement is a new sighting). */
  forget(address: string): void {
    this.#sightings.delete(address);
    this.#announcedFailed.delete(address);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#scanning = false;
    this.#noble.removeAllListeners('discover');
    await this.#noble.stopScanningAsync().catch(() => undefined);
    for (const p of this.#peripherals.values()) {
      if (p.state === 'connected') await p.disconnectAsync().catch(() => undefined);
    }
    stopNoble(this.#noble, this.#log);
  }

  #onDiscover(peripheral: Peripheral): void {
    const adv = parseLockAdvertisement(
      peripheral.advertisement.localName,
      peripheral.advertisement.manufacturerData,
    );
    if (!adv) return; // not a CTOP lock, or its scan response has not been heard yet
    // Monotonic: a wall clock stepped by NTP or GPS mid-train must not reorder the locks.
    const now = this.#clock.monotonic();
    this.#peripherals.set(peripheral.address, peripheral);
    const known = this.#sightings.get(peripheral.address);
    if (known && sameAdvertisement(known.advertisement, adv)) {
      known.rssi = peripheral.rssi;
      known.bestRssi = Math.max(known.bestRssi, peripheral.rssi);
      known.meanRssi += RSSI_SMOOTHING * (peripheral.rssi - known.meanRssi);
      known.peakMeanRssi = Math.max(known.peakMeanRssi, known.meanRssi);
      known.lastSeenAt = now;
      known.heardAtListenMs = this.listenedMs();
      this.emit('heard', known);
      return;
    }
    const sighting: LockSighting = {
      address: peripheral.address,
      advertisement: adv,
      rssi: peripheral.rssi,
      bestRssi: Math.max(known?.bestRssi ?? -127, peripheral.rssi),
      meanRssi: known?.meanRssi ?? peripheral.rssi,
      peakMeanRssi: known?.peakMeanRssi ?? peripheral.rssi,
      firstSeenAt: known?.firstSeenAt ?? now,
      lastSeenAt: now,
      heardAtListenMs: this.listenedMs(),
    };
    this.#sightings.set(peripheral.address, sighting);
    this.emit('sighting', sighting);
    this.emit('heard', sighting);
  }
}

function sameAdvertisement(a: LockAdvertisement, b: LockAdvertisement): boolean {
  return (
    a.lockId === b.lockId &&
    a.sealState === b.sealState &&
    a.eventCount === b.eventCount &&
    a.manifestHashPrefix.equals(b.manifestHashPrefix)
  );
}
