import { ByteStreamApp, type ByteStreamOutput } from './byte-stream-app.js';
import type { SimConnection, SimPeripheralApp } from './peripheral-app.js';
import type { SimClock, SimTimer } from './sim-clock.js';

/** Sends back every byte written to RX, as TX notifications: the test peripheral. */
export function echoApp(): ByteStreamApp {
  let output: ByteStreamOutput | undefined;
  return new ByteStreamApp({
    attach: (o) => {
      output = o;
    },
    receive: (bytes) => output?.write(Buffer.from(bytes)),
    detach: () => {
      output = undefined;
    },
  });
}

export interface FloodAppOptions {
  /** Notify before the central subscribes (a device ignoring its CCCD). Default false. */
  ignoreSubscription?: boolean;
  /** The byte every notification is filled with. Default 0x41 ('A'): a line that never ends. */
  fill?: number;
}

/** Hostile: fills every free TX slot with full-size notifications for as long as the link lasts. */
export class FloodApp implements SimPeripheralApp {
  /** Value bytes notified so far. */
  notified = 0;
  readonly #o: FloodAppOptions;

  constructor(options: FloodAppOptions = {}) {
    this.#o = options;
  }

  onConnect(c: SimConnection): void {
    if (this.#o.ignoreSubscription) this.#flood(c);
  }

  onSubscribe(c: SimConnection, enabled: boolean): void {
    if (enabled) this.#flood(c);
  }

  onRxWrite(): void {}

  onTxRoom(c: SimConnection): void {
    this.#flood(c);
  }

  #flood(c: SimConnection): void {
    if (!this.#o.ignoreSubscription && !c.subscribed) return;
    const value = Buffer.alloc(c.maxNotifyLength, this.#o.fill ?? 0x41);
    while (c.txRoom > 0 && c.notify(value)) this.notified += value.length;
  }
}

/**
 * Hostile or flaky: runs `inner`, but ends every connection `afterMs` simulated ms after it
 * was made (a device that disconnects in a loop).
 */
export function disconnectingApp(
  inner: SimPeripheralApp,
  clock: SimClock,
  afterMs: number,
): SimPeripheralApp {
  const timers = new Map<SimConnection, SimTimer>();
  return {
    onConnect: (c) => {
      timers.set(
        c,
        clock.setTimeout(() => c.disconnect(), afterMs),
      );
      inner.onConnect?.(c);
    },
    onSubscribe: (c, enabled) => inner.onSubscribe?.(c, enabled),
    onMtu: (c, mtu) => inner.onMtu?.(c, mtu),
    onRxWrite: (c, value) => inner.onRxWrite(c, value),
    onTxRoom: (c) => inner.onTxRoom?.(c),
    onDisconnect: (c, reason) => {
      const t = timers.get(c);
      t?.cancel();
      timers.delete(c);
      inner.onDisconnect?.(c, reason);
    },
  };
}
