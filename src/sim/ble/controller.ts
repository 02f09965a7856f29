import { EventEmitter } from 'node:events';
import type { Logger } from '../../log.js';
import { AdvertisingChannel } from './advertising-channel.js';
import {
  ADV_IND_PAYLOAD,
  advertisingSurvival,
  CONNECT_IND_PAYLOAD,
  type Phy,
  packetAirUs,
  packetErrorRate,
  SENSITIVITY_DBM,
} from './air-time.js';
import { CompletedPackets } from './completed-packets.js';
import { Connection, type ConnectionInfo } from './connection.js';
import { EventMasks } from './event-masks.js';
import { FilterAcceptList } from './filter-accept-list.js';
import { Evt, H4, LeSub, LL_MAX_OCTETS, LL_MIN_OCTETS, Op, Status } from './hci-constants.js';
import * as ev from './hci-events.js';
import { Initiator, type PendingConnection } from './initiator.js';
import { intervalUnits } from './link-params.js';
import { answerLocalInfo } from './local-info.js';
import type { SimPeripheral } from './peripheral.js';
import { Scanner } from './scanner.js';
import { type ListenerWindows, type ScannerShare, SharedAir } from './shared-air.js';
import type { SimWorld } from './world.js';

export interface ControllerOptions {
  /** The controller's public BD_ADDR. Default "00:1b:dc:0c:70:01". */
  address?: string;
  /** Simultaneous connections the controller supports; LE Create Connection beyond it fails with 0x09. Default 5. */
  maxConnections?: number;
  /** ACL data packet length announced by LE Read Buffer Size. Default 251. */
  aclBufferLength?: number;
  /** ACL data packets the controller buffers (shared by all connections). Default 8. */
  aclBufferCount?: number;
  /** LE Data Packet Length Extension: LL PDUs up to 251 bytes. Default true; false keeps every link at 27. */
  dataLengthExtension?: boolean;
  /**
   * Receiver sensitivity on the 1M PHY, dBm (the 2M PHY's is 3 dB worse): packets arrive
   * with the bit errors of their signal's margin over it. Default −95 (see air-time.ts).
   */
  sensitivityDbm?: number;
  /**
   * Whether the controller scans and initiates at once (the combined Scanning + Initiating
   * state of LE Read Supported States, Core 5.3 Vol 4 Part E §7.8.27; Vol 6 Part B §1.1.1
   * allows the link layer several state machines). Default true, as current controllers do;
   * false refuses LE Set Scan Enable while an LE Create Connection is pending, and the
   * connection while scanning, with Command Disallowed (0x0C).
   */
  scanWhileInitiating?: boolean;
  /**
   * Entries of the Filter Accept List (LE Read Filter Accept List Size), which an LE Create
   * Connection may name instead of one peer: it connects to whichever listed device it hears
   * first. Default 8 (Nordic's SoftDevice: BLE_GAP_WHITELIST_ADDR_MAX_COUNT; others hold
   * more); 0 makes a controller without the list's commands (they answer Unknown HCI Command).
   */
  filterAcceptListSize?: number;
  /**
   * How the radio's air is shared between connection events and the scanner or initiator
   * (shared-air.ts, with sources): `preempt`, the default, starts each scan window by cutting
   * the link event under way, as Zephyr's link layer does, so the host's scan interval sets
   * the listener's share; `contender` keeps the listener a share as one more link;
   * `leftover` lets it listen only in the air the connections leave.
   */
  scannerShare?: ScannerShare;
}

export interface ControllerStats {
  commands: number;
  /** LE Advertising Reports sent (after duplicate filtering). */
  advertisingReports: number;
  /** Opcodes answered "Unknown HCI Command", with how often. */
  unknownCommands: Record<string, number>;
  connections: number;
  /** LE Create Connection refused for the connection limit. */
  refusedAtLimit: number;
  /** Disconnection Complete events sent, by reason (hex). */
  disconnections: Record<string, number>;
  /** ACL packets from the host for a handle that does not exist (any more). */
  aclDroppedUnknownHandle: number;
  /** Times the host sent ACL data with all announced buffers in use. */
  aclBufferOverruns: number;
  /** Connection events played on the shared air. */
  connectionEvents: number;
  /** Connection events lost because another link's event held the air at their anchor. */
  connectionEventsSkipped: number;
}

export interface ControllerEvents {
  connect: [ConnectionInfo];
  disconnect: [ConnectionInfo, number | undefined];
  /** An HCI command from the host, once handled: opcode and parameters (a train waits for a scan). */
  command: [number, Buffer];
}

const CONNECTION_HANDLE_MAX = 0x0eff;

/**
 * The simulated LE controller: HCI commands and ACL data from the host in, events and ACL
 * data out (whole H4 packets). Scanning and connection set-up read the SimWorld;
 * connections carry the data. Every command gets an answer, unknown ones "Unknown HCI
 * Command", so a host never waits for ever.
 */
export class HciController extends EventEmitter<ControllerEvents> {
  readonly #stats: Omit<
    ControllerStats,
    'advertisingReports' | 'connectionEvents' | 'connectionEventsSkipped'
  > = {
    commands: 0,
    unknownCommands: {},
    connections: 0,
    refusedAtLimit: 0,
    disconnections: {},
    aclDroppedUnknownHandle: 0,
    aclBufferOverruns: 0,
  };
  readonly world: SimWorld;
  readonly address: string;
  readonly maxConnections: number;
  readonly scanWhileInitiating: boolean;
  readonly aclBufferLength: number;
  readonly aclBufferCount: number;
  readonly dataLengthExtension: boolean;
  readonly sensitivityDbm: number;
  readonly #toHost: (packet: Buffer) => void;
  readonly #hostReady: () => boolean;
  readonly #log: Logger;
  readonly #air: AdvertisingChannel;
  /** When the scanner was last enabled, and the pending LE Create Connection sent: their windows start from then. */
  #scanSinceMs = 0;
  #initiateSinceMs = 0;
  /** The radio's air: connection events and the scanner's listening share it. */
  readonly #sharedAir: SharedAir;
  readonly #connections = new Map<number, Connection>();
  readonly #byAddress = new Map<string, Connection>();
  readonly #completed: CompletedPackets;
  #nextHandle = 0x0040;
  readonly #masks = new EventMasks();
  readonly #scanner = new Scanner();
  readonly #acceptList: FilterAcceptList;
  readonly #initiator: Initiator;
  #closed = false;
  readonly #onDepart = (p: SimPeripheral) => this.#byAddress.get(p.address)?.linkLost();

  /**
   * `toHost` carries packets to the host; `hostReady` says whether the line can take more
   * (false holds peripheral data on air instead of piling it up in memory).
   */
  constructor(
    world: SimWorld,
    options: ControllerOptions,
    toHost: (packet: Buffer) => void,
    log: Logger,
    hostReady: () => boolean = () => true,
  ) {
    super();
    const {
      address = '00:1b:dc:0c:70:01',
      maxConnections = 5,
      aclBufferLength = 251,
      aclBufferCount = 8,
      dataLengthExtension = true,
      sensitivityDbm = SENSITIVITY_DBM['1m'],
      scanWhileInitiating = true,
      filterAcceptListSize = 8,
      scannerShare = 'preempt',
    } = options;
    ev.addressToHci(address);
    if (!(Number.isInteger(maxConnections) && maxConnections >= 1 && maxConnections <= 64)) {
      throw new TypeError('maxConnections must be an integer in 1..64');
    }
    if (!(Number.isInteger(aclBufferLength) && aclBufferLength >= 27 && aclBufferLength <= 65535)) {
      throw new TypeError('aclBufferLength must be an integer in 27..65535');
    }
    if (!(Number.isInteger(aclBufferCount) && aclBufferCount >= 1 && aclBufferCount <= 255)) {
      throw new TypeError('aclBufferCount must be an integer in 1..255');
    }
    this.world = world;
    this.address = address.toLowerCase();
    this.maxConnections = maxConnections;
    this.aclBufferLength = aclBufferLength;
    this.aclBufferCount = aclBufferCount;
    this.dataLengthExtension = dataLengthExtension;
    if (!(sensitivityDbm >= -110 && sensitivityDbm <= -40))
      throw new TypeError('sensitivityDbm must be in -110..-40');
    this.sensitivityDbm = sensitivityDbm;
    this.scanWhileInitiating = scanWhileInitiating;
    this.#acceptList = new FilterAcceptList(filterAcceptListSize);
    this.#initiator = new Initiator(this.#acceptList);
    this.#sharedAir = new SharedAir(
      world.clock,
      () => this.#air.listening,
      scannerShare,
      () => this.#listenerWindows(),
    );
    this.#toHost = toHost;
    this.#hostReady = hostReady;
    this.#completed = new CompletedPackets(toHost);
    this.#log = log.child({ component: 'ble-sim-controller' });
    this.#air = new AdvertisingChannel(
      world,
      (p) => p.advertiseWhileConnected || !this.#byAddress.has(p.address),
      (p) => this.#advertisingEvent(p),
    );
    world.on('depart', this.#onDepart);
  }

  get stats(): Readonly<ControllerStats> {
    return {
      ...this.#stats,
      advertisingReports: this.#scanner.reports,
      connectionEvents: this.#sharedAir.stats.events,
      connectionEventsSkipped: this.#sharedAir.stats.skipped,
    };
  }

  /** The fraction of recent air time the connections left to the scanner and initiator. */
  get listenFraction(): number {
    return this.#sharedAir.listenFraction();
  }

  get connections(): ConnectionInfo[] {
    return [...this.#connections.values()].map((c) => c.info());
  }

  /** Whether the controller holds a connection to `address`. */
  isConnected(address: string): boolean {
    return this.#byAddress.has(address.toLowerCase());
  }

  /** ACL buffers in use (host fragments not yet sent on air). */
  get aclBuffersInUse(): number {
    let n = 0;
    for (const c of this.#connections.values()) n += c.heldFragments;
    return n;
  }

  /** One H4 packet from the host (indicator byte included). */
  receive(packet: Buffer): void {
    if (this.#closed) return;
    if (packet[0] === H4.Command) this.#command(packet.readUInt16LE(1), packet.subarray(4));
    else if (packet[0] === H4.Acl) this.#acl(packet);
  }

  /** Stops everything without telling the host (the controller lost power). */
  close(): void {
    if (this.#closed) return;
    this.#reset();
    this.#closed = true;
    this.world.off('depart', this.#onDepart);
    this.#completed.close();
    this.#sharedAir.stop();
  }

  // --- commands ---

  #command(op: number, p: Buffer): void {
    this.#stats.commands++;
    try {
      this.#dispatch(op, p);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      // Parameters shorter than the command needs.
      this.#complete(op, Status.InvalidParameters);
    }
    this.emit('command', op, p);
  }

  #complete(op: number, status: number, ret?: Uint8Array): void {
    this.#toHost(ev.commandComplete(op, status, ret));
  }

  #dispatch(op: number, p: Buffer): void {
    const info = answerLocalInfo(op, this);
    if (info) {
      this.#toHost(info);
      return;
    }
    switch (op) {
      case Op.Reset:
        this.#reset();
        this.#complete(op, Status.Success);
        break;
      case Op.SetEventMask:
        this.#masks.setPage1(p);
        this.#complete(op, Status.Success);
        break;
      case Op.LeSetEventMask:
        this.#masks.setLe(p);
        this.#complete(op, Status.Success);
        break;
      case Op.LeSetDataLength:
        this.#setDataLength(op, p);
        break;
      case Op.ReadRssi:
        this.#readRssi(op, p);
        break;
      case Op.LeSetScanParameters:
        this.#complete(op, this.#scanner.setParameters(p));
        break;
      case Op.LeSetScanEnable:
        if (!this.scanWhileInitiating && this.#initiator.pending && p.readUInt8(0) === 1) {
          this.#complete(op, Status.CommandDisallowed);
          break;
        }
        if (!this.#scanner.enabled && p.readUInt8(0) === 1) this.#scanSinceMs = this.world.clock.monotonic();
        this.#complete(op, this.#scanner.setEnable(p));
        this.#updateListening();
        break;
      case Op.LeCreateConnection:
        this.#createConnection(op, p);
        break;
      case Op.LeCreateConnectionCancel:
        this.#cancelConnection(op);
        break;
      case Op.LeReadFilterAcceptListSize:
      case Op.LeClearFilterAcceptList:
      case Op.LeAddDeviceToFilterAcceptList:
      case Op.LeRemoveDeviceFromFilterAcceptList:
        this.#filterAcceptList(op, p);
        break;
      case Op.Disconnect:
        this.#disconnect(op, p);
        break;
      case Op.LeConnectionUpdate:
        this.#connectionUpdate(op, p);
        break;
      case Op.LeStartEncryption:
        // No pairing in the model: the host learns at once that encryption is not available.
        this.#toHost(ev.commandStatus(op, Status.UnsupportedFeature));
        break;
      default:
        this.#unknown(op, p);
    }
  }

  #unknown(op: number, p: Buffer): void {
    const key = `0x${op.toString(16).padStart(4, '0')}`;
    if (this.#stats.unknownCommands[key] === undefined) {
      this.#log.warn(
        { opcode: key, params: p.toString('hex') },
        'unknown HCI command answered "Unknown HCI Command"',
      );
    }
    this.#stats.unknownCommands[key] = (this.#stats.unknownCommands[key] ?? 0) + 1;
    this.#complete(op, Status.UnknownCommand);
  }

  /**
   * The Filter Accept List's commands. The list may not change while an LE Create Connection
   * that uses it is pending (Vol 4 Part E §7.8.15–7.8.17: Command Disallowed).
   */
  #filterAcceptList(op: number, p: Buffer): void {
    if (this.#acceptList.size === 0) {
      this.#unknown(op, p);
      return;
    }
    if (op === Op.LeReadFilterAcceptListSize) {
      this.#complete(op, Status.Success, Uint8Array.of(this.#acceptList.size));
      return;
    }
    if (this.#initiator.usesAcceptList) {
      this.#complete(op, Status.CommandDisallowed);
      return;
    }
    if (op === Op.LeClearFilterAcceptList) {
      this.#acceptList.clear();
      this.#complete(op, Status.Success);
    } else if (op === Op.LeAddDeviceToFilterAcceptList) {
      this.#complete(op, this.#acceptList.add(p));
    } else {
      this.#complete(op, this.#acceptList.remove(p));
    }
  }

  /** HCI Reset: scanning off, connections and the pending attempt gone without events, masks back to defaults. */
  #reset(): void {
    this.#scanner.reset();
    this.#initiator.take();
    this.#acceptList.clear();
    this.#masks.reset();
    for (const c of [...this.#connections.values()]) c.dropSilently();
    this.#completed.clear();
    this.#updateListening();
  }

  #setDataLength(op: number, p: Buffer): void {
    const handle = p.readUInt16LE(0) & 0x0fff;
    const txOctets = p.readUInt16LE(2);
    const ret = Buffer.alloc(2);
    ret.writeUInt16LE(handle);
    const c = this.#connections.get(handle);
    let status: number = Status.Success;
    if (!this.dataLengthExtension) status = Status.UnknownCommand;
    else if (!c) status = Status.UnknownConnectionId;
    else if (txOctets < LL_MIN_OCTETS || txOctets > LL_MAX_OCTETS) status = Status.InvalidParameters;
    if (status !== Status.Success || !c) {
      this.#complete(op, status, ret);
      return;
    }
    const before = c.llOctets;
    const octets = c.setDataLength(txOctets, LL_MAX_OCTETS);
    this.#complete(op, Status.Success, ret);
    if (octets !== before)
      this.#leEvent(LeSub.DataLengthChange, ev.leDataLengthChange(handle, octets, octets));
  }

  #readRssi(op: number, p: Buffer): void {
    const handle = p.readUInt16LE(0) & 0x0fff;
    const c = this.#connections.get(handle);
    const ret = Buffer.alloc(3);
    ret.writeUInt16LE(handle, 0);
    if (!c) {
      this.#complete(op, Status.UnknownConnectionId, ret);
      return;
    }
    ret.writeInt8(Math.max(-127, Math.min(20, Math.round(this.world.rssi(c.peripheral)))), 2);
    this.#complete(op, Status.Success, ret);
  }

  #createConnection(op: number, p: Buffer): void {
    const peer = ev.addressFromHci(p.subarray(6, 12));
    // With the Filter Accept List (policy 1) the peer named is ignored.
    if (p.readUInt8(4) === 0 && this.#byAddress.has(peer)) {
      this.#toHost(ev.commandStatus(op, Status.ConnectionAlreadyExists));
      return;
    }
    if (this.#connections.size >= this.maxConnections && !this.#initiator.pending) {
      this.#stats.refusedAtLimit++;
      this.#toHost(ev.commandStatus(op, Status.ConnectionLimitExceeded));
      return;
    }
    if (!this.scanWhileInitiating && this.#scanner.enabled) {
      this.#toHost(ev.commandStatus(op, Status.CommandDisallowed));
      return;
    }
    const { status } = this.#initiator.create(p);
    this.#initiateSinceMs = this.world.clock.monotonic();
    this.#toHost(ev.commandStatus(op, status));
    if (status !== Status.Success) this.#log.debug({ peer, status }, 'LE Create Connection refused');
    this.#updateListening();
  }

  #cancelConnection(op: number): void {
    const pending = this.#initiator.take();
    if (!pending) {
      this.#complete(op, Status.CommandDisallowed);
      return;
    }
    this.#updateListening();
    this.#complete(op, Status.Success);
    this.#leEvent(
      LeSub.ConnectionComplete,
      ev.leConnectionComplete({
        status: Status.UnknownConnectionId,
        handle: 0,
        peerAddressType: pending.addressType,
        peerAddress: pending.address,
        interval: 0,
        latency: 0,
        supervisionTimeout: 0,
      }),
    );
  }

  #disconnect(op: number, p: Buffer): void {
    const handle = p.readUInt16LE(0) & 0x0fff;
    const c = this.#connections.get(handle);
    this.#toHost(ev.commandStatus(op, c ? Status.Success : Status.UnknownConnectionId));
    c?.terminateByHost();
  }

  #connectionUpdate(op: number, p: Buffer): void {
    const handle = p.readUInt16LE(0) & 0x0fff;
    const c = this.#connections.get(handle);
    this.#toHost(ev.commandStatus(op, c ? Status.Success : Status.UnknownConnectionId));
    if (!c) return;
    // The link model keeps its parameters; the update completes with what is in force.
    const info = c.info();
    this.#leEvent(
      LeSub.ConnectionUpdateComplete,
      ev.leConnectionUpdateComplete(
        handle,
        intervalUnits(info.intervalMs),
        0,
        Math.round(c.supervisionTimeoutMs / 10),
      ),
    );
  }

  // --- advertising, scanning, initiating ---

  /**
   * When the listener's scan windows start (for `scannerShare` `preempt`): the scanner's, or
   * the initiator's, whichever starts more often when both listen.
   */
  #listenerWindows(): ListenerWindows | undefined {
    const scanner = this.#scanner.enabled ? this.#scanner : undefined;
    const pending = this.#initiator.pending;
    if (pending && (!scanner || pending.scanIntervalMs < scanner.intervalMs)) {
      return {
        intervalMs: pending.scanIntervalMs,
        windowMs: pending.scanWindowMs,
        sinceMs: this.#initiateSinceMs,
      };
    }
    return (
      scanner && { intervalMs: scanner.intervalMs, windowMs: scanner.windowMs, sinceMs: this.#scanSinceMs }
    );
  }

  #updateListening(): void {
    this.#air.listen(!this.#closed && (this.#scanner.enabled || this.#initiator.pending !== undefined));
  }

  /** The signal's margin over this receiver's sensitivity for one RSSI sample, dB. */
  #margin(rssi: number, phy: Phy): number {
    return rssi - (this.sensitivityDbm + (phy === '2m' ? 3 : 0));
  }

  /** Probability that a packet of `payload` octets of `p` gets through at this margin. */
  #delivered(p: SimPeripheral, marginDb: number, payload: number): number {
    const link = this.world.linkFor(p);
    return (1 - link.lossRate) * (1 - packetErrorRate('1m', marginDb, payload));
  }

  #advertisingEvent(p: SimPeripheral): void {
    const random = this.world.random;
    const rssi = this.world.rssi(p);
    // Advertising is on the 1M PHY whatever the links use.
    const margin = this.#margin(rssi, '1m');
    const others = this.#air.advertisersInRange - 1;
    const heard =
      this.#sharedAir.listenFraction() *
      this.#delivered(p, margin, ADV_IND_PAYLOAD) *
      advertisingSurvival(others, packetAirUs('1m', ADV_IND_PAYLOAD), p.advertisingIntervalMs + 5);
    if (random() >= heard) return;
    if (!this.#byAddress.has(p.address) && this.#initiator.hears(p, random)) {
      const missed = random() >= this.#delivered(p, margin, CONNECT_IND_PAYLOAD);
      this.#establish(p, this.#initiator.take()!, missed);
      return;
    }
    // SCAN_REQ (12 octets) and SCAN_RSP (up to 37) must both get through.
    const scanResponse =
      random() < this.#delivered(p, margin, 12) * this.#delivered(p, margin, ADV_IND_PAYLOAD);
    for (const report of this.#scanner.hear(p, rssi, random, scanResponse))
      this.#leEvent(LeSub.AdvertisingReport, report);
  }

  #establish(p: SimPeripheral, pending: PendingConnection, missedConnectRequest: boolean): void {
    this.#updateListening();
    const link = this.world.linkFor(p);
    const intervalUnitsInForce = intervalUnits(link.connectionIntervalMs ?? pending.intervalMaxUnits * 1.25);
    const supervisionMs = link.supervisionTimeoutMs ?? pending.supervisionUnits * 10;
    const handle = this.#allocateHandle();
    const c = new Connection(
      {
        handle,
        peripheral: p,
        world: this.world,
        link,
        intervalMs: intervalUnitsInForce * 1.25,
        supervisionTimeoutMs: supervisionMs,
        aclLength: this.aclBufferLength,
        air: this.#sharedAir,
        marginDb: () => this.#margin(this.world.rssi(p), link.phy),
        missedConnectRequest,
        log: this.#log,
      },
      {
        toHost: (packet) => this.#toHost(packet),
        completed: (h, count) => this.#completed.add(h, count),
        hostReady: this.#hostReady,
        closed: (conn, reason) => this.#connectionClosed(conn, reason),
      },
    );
    this.#connections.set(handle, c);
    this.#byAddress.set(p.address, c);
    this.#stats.connections++;
    this.#leEvent(
      LeSub.ConnectionComplete,
      ev.leConnectionComplete({
        status: Status.Success,
        handle,
        peerAddressType: p.addressType,
        peerAddress: p.address,
        interval: intervalUnitsInForce,
        latency: pending.latency,
        supervisionTimeout: Math.round(supervisionMs / 10),
      }),
    );
    this.#log.debug({ handle, peripheral: p.name }, 'connected');
    const info = c.info();
    c.start();
    this.emit('connect', info);
  }

  #allocateHandle(): number {
    // Handles are not reused at once, so late packets of an old connection cannot land on a new one.
    for (;;) {
      const h = this.#nextHandle;
      this.#nextHandle = h >= CONNECTION_HANDLE_MAX ? 0x0040 : h + 1;
      if (!this.#connections.has(h)) return h;
    }
  }

  #connectionClosed(c: Connection, hostReason: number | undefined): void {
    this.#connections.delete(c.handle);
    if (this.#byAddress.get(c.peripheral.address) === c) this.#byAddress.delete(c.peripheral.address);
    this.#completed.forget(c.handle);
    if (hostReason !== undefined) {
      const key = `0x${hostReason.toString(16).padStart(2, '0')}`;
      this.#stats.disconnections[key] = (this.#stats.disconnections[key] ?? 0) + 1;
      if (this.#masks.allows(Evt.DisconnectionComplete)) {
        this.#toHost(ev.disconnectionComplete(c.handle, hostReason));
      }
    }
    this.#log.debug({ handle: c.handle, peripheral: c.peripheral.name, reason: hostReason }, 'disconnected');
    this.emit('disconnect', c.info(), hostReason);
    // A peripheral that stops advertising while connected starts again.
    this.#updateListening();
  }

  // --- ACL data ---

  #acl(packet: Buffer): void {
    const field = packet.readUInt16LE(1);
    const handle = field & 0x0fff;
    const pb = (field >> 12) & 0x3;
    const c = this.#connections.get(handle);
    if (!c) {
      this.#stats.aclDroppedUnknownHandle++;
      return;
    }
    if (this.aclBuffersInUse >= this.aclBufferCount) {
      if (this.#stats.aclBufferOverruns === 0)
        this.#log.warn('host sent ACL data with every controller buffer in use');
      this.#stats.aclBufferOverruns++;
    }
    c.fromHost(pb, packet.subarray(5));
  }

  #leEvent(sub: LeSub, packet: Buffer): void {
    if (this.#masks.allowsLe(sub)) this.#toHost(packet);
  }
}
