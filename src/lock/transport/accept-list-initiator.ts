import type { EventEmitter } from 'node:events';
import { type Clock, ClockTimeout, clockTimeout, withTimeout } from '../../clock.js';
import { CtopError } from '../../errors.js';

/** HCI opcodes (Core 5.3 Vol 4 Part E §7.8) noble has no API for. */
const LE_CREATE_CONNECTION = 0x200d;
const LE_CREATE_CONNECTION_CANCEL = 0x200e;
const LE_READ_FILTER_ACCEPT_LIST_SIZE = 0x200f;
const LE_CLEAR_FILTER_ACCEPT_LIST = 0x2010;
const LE_ADD_DEVICE_TO_FILTER_ACCEPT_LIST = 0x2011;
/** Unknown HCI Command (Vol 1 Part F): a controller without the list's commands. */
const UNKNOWN_COMMAND = 0x01;
/** No controller answers a command this late; one that does not is broken, not busy. */
const COMMAND_TIMEOUT_MS = 2000;

/** noble's HCI layer, as far as this file reaches into it (@stoprocent/noble 2.x, lib/hci-socket/hci.js). */
type NobleHciLayer = EventEmitter & {
  _socket?: { write(packet: Buffer): void };
  processCmdCompleteEvent?: (cmd: number, status: number, result: Buffer) => unknown;
  processCmdStatusEvent?: (cmd: number, status: number) => unknown;
};

export interface AcceptListPeer {
  /** As noble spells it: lower-case hex pairs separated by colons. */
  address: string;
  addressType: 'public' | 'random';
}

interface Answer {
  status: number;
  ret: Buffer;
}

/**
 * Connects to whichever of several locks the radio hears first, through the controller's
 * Filter Accept List (LE Create Connection with Initiator_Filter_Policy 1, Core 5.3 Vol 6
 * Part B §4.3.1), the spec's means for a central that wants any of several devices. noble
 * names one peer per LE Create Connection: its initiator then waits for that lock's next
 * advertisement that it hears, while the rest of the train advertises unanswered; with k
 * locks listed it waits about a k-th as long (docs/BLE-SIM.md, "Connecting from the Filter
 * Accept List").
 *
 * The commands go to the controller through noble's HCI socket, beside noble's own; noble
 * adopts the link that comes up as one it did not ask for, and the lock's Peripheral is
 * connected as after its own connect. One attempt at a time, and never beside one of
 * noble's (the caller serialises them: the controller has one initiator).
 */
export class AcceptListInitiator {
  readonly #hci: NobleHciLayer & { _socket: { write(packet: Buffer): void } };
  readonly #clock: Clock;
  /** The connection interval asked for, 1.25 ms units. */
  readonly #intervalUnits: number;
  readonly #waiting = new Map<number, ((answer: Answer) => void)[]>();
  /** Entries the controller's list holds (LE Read Filter Accept List Size). */
  size = 0;

  private constructor(
    hci: NobleHciLayer & { _socket: { write(packet: Buffer): void } },
    clock: Clock,
    intervalUnits: number,
  ) {
    this.#hci = hci;
    this.#clock = clock;
    this.#intervalUnits = intervalUnits;
    const complete = hci.processCmdCompleteEvent!;
    const status = hci.processCmdStatusEvent!;
    // noble drops the answers to commands it did not send; they are taken here first.
    hci.processCmdCompleteEvent = (cmd, st, result) => {
      this.#answer(cmd, { status: st, ret: result });
      return complete.call(hci, cmd, st, result);
    };
    hci.processCmdStatusEvent = (cmd, st) => {
      this.#answer(cmd, { status: st, ret: Buffer.alloc(0) });
      return status.call(hci, cmd, st);
    };
  }

  /**
   * The initiator for noble's HCI layer, once the controller said how many entries its list
   * holds; undefined when noble's layer is not the one known here, or the controller has no
   * list (Unknown HCI Command) — the caller then connects one named lock at a time.
   */
  static async attach(
    hciLayer: unknown,
    clock: Clock,
    intervalUnits: number,
  ): Promise<AcceptListInitiator | undefined> {
    const hci = hciLayer as NobleHciLayer | undefined;
    if (
      !hci ||
      typeof hci._socket?.write !== 'function' ||
      typeof hci.processCmdCompleteEvent !== 'function' ||
      typeof hci.processCmdStatusEvent !== 'function'
    ) {
      return undefined;
    }
    const initiator = new AcceptListInitiator(
      hci as NobleHciLayer & { _socket: { write(packet: Buffer): void } },
      clock,
      intervalUnits,
    );
    const { status, ret } = await initiator.#command(LE_READ_FILTER_ACCEPT_LIST_SIZE).catch(() => ({
      status: UNKNOWN_COMMAND,
      ret: Buffer.alloc(0),
    }));
    if (status !== 0 || ret.byteLength < 1) return undefined;
    initiator.size = ret[0]!;
    return initiator.size > 0 ? initiator : undefined;
  }

  /**
   * Lists the first `size` of `peers` and connects to whichever is heard first; resolves
   * with its address (as the controller reported it, lower-case). Rejects with E_BLE_CONNECT
   * when none is heard within `timeoutMs`, when `signal` aborts, or when the controller
   * refuses (`details.hciStatus`, and `details.command` 'LE Create Connection' when the
   * connection itself was refused: 0x0C then when it cannot initiate while it scans).
   */
  async connectFirst(
    peers: readonly AcceptListPeer[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const listed = peers.slice(0, this.size);
    if (listed.length === 0) throw new CtopError('E_BLE_CONNECT', 'no lock to connect to');
    await this.#expectSuccess(LE_CLEAR_FILTER_ACCEPT_LIST, Buffer.alloc(0), 'clear the Filter Accept List');
    for (const peer of listed) {
      const entry = Buffer.alloc(7);
      entry[0] = peer.addressType === 'random' ? 1 : 0;
      Buffer.from(peer.address.replace(/:/g, ''), 'hex').reverse().copy(entry, 1);
      await this.#expectSuccess(LE_ADD_DEVICE_TO_FILTER_ACCEPT_LIST, entry, `list ${peer.address}`);
    }
    let settle!: (outcome: { status: number; address?: string }) => void;
    const completion = new Promise<{ status: number; address?: string }>((resolve) => {
      settle = resolve;
    });
    const onComplete = (
      status: number,
      _handle: unknown,
      role: unknown,
      _type: unknown,
      address: unknown,
    ) => {
      if (role !== 0 && role !== undefined) return;
      settle({ status, ...(typeof address === 'string' ? { address: address.toLowerCase() } : {}) });
    };
    this.#hci.on('leConnComplete', onComplete);
    let why: 'timeout' | 'aborted' | undefined;
    const cancel = (reason: 'timeout' | 'aborted') => {
      why ??= reason;
      void this.#command(LE_CREATE_CONNECTION_CANCEL).catch(() => undefined);
    };
    const onAbort = () => cancel('aborted');
    let timer: { cancel(): void } | undefined;
    try {
      const created = await this.#command(LE_CREATE_CONNECTION, createFromList(this.#intervalUnits));
      if (created.status !== 0) {
        throw new CtopError(
          'E_BLE_CONNECT',
          `the Bluetooth controller refused a connection from its Filter Accept List (HCI status 0x${hex(created.status)})`,
          { details: { hciStatus: created.status, command: 'LE Create Connection' } },
        );
      }
      timer = clockTimeout(this.#clock, () => cancel('timeout'), timeoutMs);
      if (signal?.aborted) cancel('aborted');
      else signal?.addEventListener('abort', onAbort, { once: true });
      // The cancel's LE Connection Complete (status 0x02) ends the wait; a controller that
      // never sends it is given the command timeout on top.
      const outcome = await withTimeout(this.#clock, completion, timeoutMs + COMMAND_TIMEOUT_MS).catch(
        (err: unknown) => {
          if (err instanceof ClockTimeout) return { status: -1 } as { status: number; address?: string };
          throw err;
        },
      );
      if (outcome.status === 0 && outcome.address) return outcome.address;
      const names = listed.length === 1 ? 'the lock' : `none of the ${listed.length} locks listed`;
      throw new CtopError(
        'E_BLE_CONNECT',
        why === 'aborted'
          ? 'connection attempt given up'
          : why === 'timeout' || outcome.status === -1
            ? `${names} answered a connection request within ${timeoutMs} ms`
            : `connection from the Filter Accept List failed (HCI status 0x${hex(outcome.status)})`,
        { details: { listed: listed.length, ...(outcome.status > 0 ? { hciStatus: outcome.status } : {}) } },
      );
    } finally {
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      this.#hci.off('leConnComplete', onComplete);
    }
  }

  async #expectSuccess(op: number, params: Buffer, what: string): Promise<void> {
    const { status } = await this.#command(op, params);
    if (status !== 0) {
      throw new CtopError(
        'E_BLE_CONNECT',
        `the Bluetooth controller would not ${what} (HCI status 0x${hex(status)})`,
        {
          details: { hciStatus: status },
        },
      );
    }
  }

  /** Sends one command and resolves with its Command Complete or Command Status. */
  #command(op: number, params: Buffer = Buffer.alloc(0)): Promise<Answer> {
    const answered = new Promise<Answer>((resolve) => {
      const queue = this.#waiting.get(op) ?? [];
      queue.push(resolve);
      this.#waiting.set(op, queue);
    });
    const packet = Buffer.alloc(4 + params.byteLength);
    packet[0] = 0x01; // HCI command packet (H4)
    packet.writeUInt16LE(op, 1);
    packet[3] = params.byteLength;
    params.copy(packet, 4);
    this.#hci._socket.write(packet);
    return withTimeout(this.#clock, answered, COMMAND_TIMEOUT_MS).catch((err: unknown) => {
      const queue = this.#waiting.get(op);
      queue?.shift();
      throw new CtopError(
        'E_BLE_ADAPTER',
        `the Bluetooth controller did not answer HCI command 0x${op.toString(16)}`,
        {
          cause: err,
          details: { opcode: op },
        },
      );
    });
  }

  #answer(op: number, answer: Answer): void {
    const queue = this.#waiting.get(op);
    const resolve = queue?.shift();
    if (queue?.length === 0) this.#waiting.delete(op);
    resolve?.(answer);
  }
}

/**
 * LE Create Connection from the Filter Accept List (the peer fields then ignored). Scan
 * window = interval (60 ms): the initiator listens all the time, as Linux does
 * (le_scan_int_connect = le_scan_window_connect = 0x0060); noble's own asks 30 of every
 * 60 ms and hears half the advertisements. The connection interval is the gateway's
 * (`intervalUnits`, min = max); the supervision timeout noble's, 420 ms.
 */
function createFromList(intervalUnits: number): Buffer {
  const p = Buffer.alloc(25);
  p.writeUInt16LE(0x0060, 0); // LE_Scan_Interval
  p.writeUInt16LE(0x0060, 2); // LE_Scan_Window
  p[4] = 0x01; // Initiator_Filter_Policy: the Filter Accept List
  p[5] = 0x00; // Peer_Address_Type (ignored)
  // Peer_Address (ignored): six zero octets at 6..11
  p[12] = 0x00; // Own_Address_Type: public
  p.writeUInt16LE(intervalUnits, 13); // Connection_Interval_Min
  p.writeUInt16LE(intervalUnits, 15); // Connection_Interval_Max
  p.writeUInt16LE(0x0000, 17); // Max_Latency
  p.writeUInt16LE(0x002a, 19); // Supervision_Timeout (10 ms units)
  p.writeUInt16LE(0x0004, 21); // Min_CE_Length
  p.writeUInt16LE(0x0006, 23); // Max_CE_Length
  return p;
}

function hex(status: number): string {
  return status.toString(16).padStart(2, '0');
}
