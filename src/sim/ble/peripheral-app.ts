/**
 * The seam between the simulated radio and whatever runs inside a simulated peripheral
 * (the lock firmware's protocol engine, an echo, a hostile device). Bytes only: the radio
 * knows nothing of the lock protocol.
 *
 * Who splits: the app. It hands `notify` whole values of at most `maxNotifyLength`
 * (ATT MTU − 3) bytes, as firmware calling its stack's notify function does; the radio
 * carries each value as one ATT Handle Value Notification and segments it into LL PDUs
 * itself. An app that produces a byte stream wraps itself in `ByteStreamApp`, which does
 * the splitting and the pacing.
 */
export interface SimConnection {
  /** Address of the peripheral this connection belongs to. */
  readonly address: string;
  /** ATT MTU in force: 23 until the central exchanges MTU. */
  readonly mtu: number;
  /** Largest value `notify` accepts now: mtu − 3. */
  readonly maxNotifyLength: number;
  /** Whether the central has enabled notifications on TX (its CCCD). */
  readonly subscribed: boolean;
  /** False once the link is down; calls then do nothing. */
  readonly connected: boolean;
  /** How many more notifications the peripheral's TX buffer takes now. */
  readonly txRoom: number;
  /**
   * Queues one notification of `value` on TX. Returns false, queuing nothing, when the TX
   * buffer is full (wait for `onTxRoom`) or the link is down. The radio does not police the
   * CCCD: a well-behaved app waits for `onSubscribe(true)`, a hostile one need not.
   * Throws CtopError E_BLESIM_VALUE_SIZE when `value` exceeds `maxNotifyLength`.
   */
  notify(value: Uint8Array): boolean;
  /** The peripheral ends the connection: the central sees reason 0x13 (remote user terminated). */
  disconnect(): void;
}

export interface SimPeripheralApp {
  /** A central connected. Called before any other callback of this connection. */
  onConnect?(connection: SimConnection): void;
  /** The central wrote TX's CCCD: notifications enabled or disabled. */
  onSubscribe?(connection: SimConnection, enabled: boolean): void;
  /** The ATT MTU changed (after Exchange MTU). */
  onMtu?(connection: SimConnection, mtu: number): void;
  /** The central wrote RX (write without response, or write request). */
  onRxWrite(connection: SimConnection, value: Uint8Array): void;
  /** Room appeared in the TX buffer after it had been full or after notifications went out. */
  onTxRoom?(connection: SimConnection): void;
  /** The connection is gone (either side, or the link broke). Queued TX data is dropped. */
  onDisconnect?(connection: SimConnection, reason: number): void;
}
