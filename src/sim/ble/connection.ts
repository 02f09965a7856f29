import { CtopError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { type Phy, packetsPerEvent } from './air-time.js';
import { AttServer } from './att-server.js';
import { GattDatabase } from './gatt-db.js';
import { CID_ATT, LL_MIN_OCTETS, Pb, Status } from './hci-constants.js';
import { aclData } from './hci-events.js';
import { L2capReassembler, l2capPdu } from './l2cap.js';
import { LinkLayer, type LinkStats } from './link-layer.js';
import { type LinkParams, linkGoodput } from './link-params.js';
import type { SimPeripheral } from './peripheral.js';
import type { SimConnection } from './peripheral-app.js';
import type { SharedAir } from './shared-air.js';
import type { SimTimer } from './sim-clock.js';
import type { SimWorld } from './world.js';

export interface ConnectionHooks {
  /** A controller-to-host HCI packet (H4 bytes). */
  toHost(packet: Buffer): void;
  /** Host ACL fragments of this connection fully sent (for Number Of Completed Packets). */
  completed(handle: number, count: number): void;
  /** False while the line to the host is backed up (see LinkLayerHooks.centralReady). */
  hostReady(): boolean;
  /**
   * The connection is over. `hostReason`: the reason reported to the host in Disconnection
   * Complete, or undefined when it ended silently (HCI Reset, emulator shutdown).
   */
  closed(connection: Connection, hostReason: number | undefined): void;
}

export interface ConnectionOptions {
  handle: number;
  peripheral: SimPeripheral;
  world: SimWorld;
  link: LinkParams;
  /** Connection interval in force, ms (a multiple of 1.25). */
  intervalMs: number;
  supervisionTimeoutMs: number;
  /** The host's ACL fragment size (LE Read Buffer Size), for the goodput figure. */
  aclLength: number;
  /** The controller's radio, shared with its other links and its scanner. */
  air: SharedAir;
  /** The signal's margin over the receiver's sensitivity now, dB (one sample, with fading). */
  marginDb: () => number;
  /** The peripheral did not hear the connection request. */
  missedConnectRequest: boolean;
  log: Logger;
}

/** A snapshot of one connection, for tests, benchmarks and progress displays. */
export interface ConnectionInfo {
  handle: number;
  address: string;
  name: string;
  /** Simulated ms since the world's clock started. */
  connectedAtMs: number;
  intervalMs: number;
  supervisionTimeoutMs: number;
  phy: Phy;
  /** Full-size packets one connection event carries alone on the air (the cap if lower). */
  packetsPerInterval: number;
  lossRate: number;
  llOctets: number;
  mtu: number;
  subscribed: boolean;
  /** Notifications waiting in the peripheral's TX buffer (at most its txBufferDepth). */
  txQueued: number;
  /** Theoretical ATT value bytes per simulated second, peripheral → central (notifications). */
  goodputToCentral: number;
  /** The same toward the peripheral (write commands), with the host's ACL fragmentation. */
  goodputToPeripheral: number;
  stats: Readonly<LinkStats>;
}

enum State {
  Open = 0,
  /** The radio link broke; the supervision timeout has not run out yet. */
  Broken = 1,
  /** A disconnect was requested; the LL terminate procedure is running. */
  Terminating = 2,
  Closed = 3,
}

/**
 * One LE connection between the simulated controller and a peripheral: the link layer,
 * the peripheral's L2CAP reassembly and ATT server, and the app's view of it
 * (SimConnection). Host-facing HCI events of its end come from here.
 */
export class Connection implements SimConnection {
  readonly handle: number;
  readonly peripheral: SimPeripheral;
  readonly supervisionTimeoutMs: number;
  readonly connectedAtMs: number;
  readonly #o: ConnectionOptions;
  readonly #hooks: ConnectionHooks;
  readonly #log: Logger;
  readonly #link: LinkLayer;
  readonly #att: AttServer;
  readonly #reassembler = new L2capReassembler();
  #state = State.Open;
  #timers = new Set<SimTimer>();
  /** Host ACL fragments accepted and not yet reported completed: controller buffers in use. */
  #held = 0;

  constructor(o: ConnectionOptions, hooks: ConnectionHooks) {
    this.handle = o.handle;
    this.peripheral = o.peripheral;
    this.supervisionTimeoutMs = o.supervisionTimeoutMs;
    this.connectedAtMs = o.world.clock.monotonic();
    this.#o = o;
    this.#hooks = hooks;
    this.#log = o.log.child({ handle: o.handle, peripheral: o.peripheral.name });
    this.#link = new LinkLayer(
      {
        clock: o.world.clock,
        random: o.world.random,
        intervalMs: o.intervalMs,
        ...(o.link.packetsPerInterval !== undefined ? { packetsPerInterval: o.link.packetsPerInterval } : {}),
        lossRate: o.link.lossRate,
        llOctets: LL_MIN_OCTETS,
        phy: o.link.phy,
        air: o.air,
        marginDb: o.marginDb,
        supervisionTimeoutMs: o.supervisionTimeoutMs,
        missedConnectRequest: o.missedConnectRequest,
      },
      {
        toPeripheral: (pb, data) => this.#fromAir(pb, data),
        centralReady: () => hooks.hostReady(),
        toCentral: (first, data) =>
          hooks.toHost(aclData(this.handle, first ? Pb.FirstFlushable : Pb.Continuing, data)),
        completed: (count) => {
          this.#held -= count;
          hooks.completed(this.handle, count);
        },
        txRoom: () => {
          if (this.#state === State.Open) this.peripheral.app.onTxRoom?.(this);
        },
        lost: (established) => {
          this.#log.debug({ established }, 'nothing heard for the supervision timeout');
          const reason = established ? Status.ConnectionTimeout : Status.ConnectionFailedToBeEstablished;
          this.#close(reason, Status.ConnectionTimeout);
        },
      },
    );
    this.#att = new AttServer(
      new GattDatabase(o.peripheral.gatt),
      { maxMtu: o.peripheral.maxMtu, silent: o.peripheral.att === 'silent' },
      {
        send: (pdu) => this.#link.fromPeripheral(l2capPdu(CID_ATT, pdu), false),
        rxWrite: (value) => this.peripheral.app.onRxWrite(this, value),
        subscribe: (enabled) => this.peripheral.app.onSubscribe?.(this, enabled),
        mtu: (mtu) => this.peripheral.app.onMtu?.(this, mtu),
        dropped: (reason, opcode) => this.#log.warn({ opcode }, `ATT PDU dropped: ${reason}`),
      },
    );
  }

  // --- SimConnection (the app's side) ---

  get address(): string {
    return this.peripheral.address;
  }

  get mtu(): number {
    return this.#att.mtu;
  }

  get maxNotifyLength(): number {
    return this.#att.mtu - 3;
  }

  get subscribed(): boolean {
    return this.#att.subscribed;
  }

  get connected(): boolean {
    return this.#state !== State.Closed;
  }

  get txRoom(): number {
    if (this.#state !== State.Open) return 0;
    return Math.max(0, this.peripheral.txBufferDepth - this.#link.queuedNotifications);
  }

  notify(value: Uint8Array): boolean {
    if (value.byteLength > this.maxNotifyLength) {
      throw new CtopError(
        'E_BLESIM_VALUE_SIZE',
        `notification of ${value.byteLength} bytes exceeds ATT MTU - 3`,
        {
          details: { mtu: this.mtu, length: value.byteLength, peripheral: this.peripheral.name },
        },
      );
    }
    if (this.txRoom === 0) return false;
    this.#link.fromPeripheral(l2capPdu(CID_ATT, this.#att.notification(value)), true);
    return true;
  }

  disconnect(): void {
    this.#terminate(Status.RemoteUserTerminated, Status.LocalHostTerminated);
  }

  // --- controller side ---

  /** Host ACL fragments occupying controller buffers. */
  get heldFragments(): number {
    return this.#held;
  }

  get llOctets(): number {
    return this.#link.llOctets;
  }

  /** Tells the app, and arms the random link failure. Call after LE Connection Complete went out. */
  start(): void {
    const p = this.#o.link.disconnectRatePerSecond;
    if (p > 0) {
      // Failures as a Poisson process: P(failure within one second) = p.
      const ratePerMs = -Math.log(1 - p) / 1000;
      const afterMs = -Math.log(1 - this.#o.world.random()) / ratePerMs;
      this.#later(afterMs, () => {
        this.#log.debug('random link failure');
        this.linkLost();
      });
    }
    this.peripheral.app.onConnect?.(this);
  }

  fromHost(pb: number, data: Buffer): void {
    this.#held++;
    if (this.#state !== State.Open) return; // dropped on air; the buffer is freed at disconnection
    this.#link.fromCentral(pb, data);
  }

  /** LE Set Data Length: returns the LL payload size now in force. */
  setDataLength(txOctets: number, controllerMax: number): number {
    const octets = Math.max(LL_MIN_OCTETS, Math.min(txOctets, controllerMax, this.peripheral.maxLlOctets));
    this.#link.llOctets = octets;
    return octets;
  }

  /** HCI Disconnect from the host. */
  terminateByHost(): void {
    this.#terminate(Status.LocalHostTerminated, Status.RemoteUserTerminated);
  }

  /** The radio link is gone (out of range, fading): both ends notice after the supervision timeout. */
  linkLost(): void {
    if (this.#state !== State.Open && this.#state !== State.Terminating) return;
    this.#state = State.Broken;
    this.#link.stop();
    this.#clearTimers();
    this.#later(this.supervisionTimeoutMs, () =>
      this.#close(Status.ConnectionTimeout, Status.ConnectionTimeout),
    );
  }

  /** Ends without telling the host (HCI Reset, emulator shutdown); the peripheral sees a timeout. */
  dropSilently(): void {
    this.#close(undefined, Status.ConnectionTimeout);
  }

  info(): ConnectionInfo {
    const link = this.#o.link;
    const q = { attMtu: this.mtu, llOctets: this.llOctets, connectionIntervalMs: this.#o.intervalMs };
    return {
      handle: this.handle,
      address: this.peripheral.address,
      name: this.peripheral.name,
      connectedAtMs: this.connectedAtMs,
      intervalMs: this.#o.intervalMs,
      supervisionTimeoutMs: this.supervisionTimeoutMs,
      phy: link.phy,
      packetsPerInterval: Math.min(
        link.packetsPerInterval ?? Number.POSITIVE_INFINITY,
        packetsPerEvent(link.phy, this.#o.intervalMs, this.llOctets),
      ),
      lossRate: link.lossRate,
      llOctets: this.llOctets,
      mtu: this.mtu,
      subscribed: this.subscribed,
      txQueued: this.#link.queuedNotifications,
      goodputToCentral: linkGoodput(link, q),
      goodputToPeripheral: linkGoodput(link, { ...q, aclLength: this.#o.aclLength, toPeripheral: true }),
      stats: { ...this.#link.stats },
    };
  }

  /** Ordered termination (LL_TERMINATE_IND): takes about one connection event. */
  #terminate(hostReason: number, peripheralReason: number): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Terminating;
    this.#later(this.#o.intervalMs, () => this.#close(hostReason, peripheralReason));
  }

  #close(hostReason: number | undefined, peripheralReason: number): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#link.stop();
    this.#clearTimers();
    this.#hooks.closed(this, hostReason);
    this.peripheral.app.onDisconnect?.(this, peripheralReason);
  }

  #fromAir(pb: number, data: Buffer): void {
    const frame = this.#reassembler.push(pb, data);
    if (!frame) return;
    if (frame.cid !== CID_ATT) {
      // LE signaling and SMP from the host are not modelled: no parameter updates, no pairing.
      this.#log.debug({ cid: frame.cid }, 'L2CAP PDU on an unmodelled channel ignored');
      return;
    }
    const op = frame.payload[0];
    const seen = this.peripheral.attReceived;
    if (op !== undefined) seen.set(op, (seen.get(op) ?? 0) + 1);
    this.#att.receive(frame.payload);
  }

  #later(simMs: number, fn: () => void): void {
    const t = this.#o.world.clock.setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, simMs);
    this.#timers.add(t);
  }

  #clearTimers(): void {
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
  }
}
