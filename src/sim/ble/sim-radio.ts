import { setTimeout as sleep } from 'node:timers/promises';
import { type HciBindingsOptions, type Noble, withBindings } from '@stoprocent/noble';
import { stopNoble } from '../../lock/transport/noble-stop.js';
import { type Logger, silentLogger } from '../../log.js';
import { PtyPair } from '../pty-pair.js';
import type { ControllerOptions } from './controller.js';
import { HciEmulator } from './emulator.js';
import type { SimWorld } from './world.js';

export interface SimRadioOptions extends ControllerOptions {
  world: SimWorld;
  log?: Logger;
}

/** noble's UART driver default; a pseudo-terminal ignores it. */
const BAUD_RATE = 1_000_000;

/**
 * The whole simulated radio: a pty pair (socat), the HCI controller emulator on one end,
 * and noble instances bound to the other end through noble's own UART driver
 * (`withBindings('hci', { hciDriver: 'uart', … })`). Nothing touches a real HCI socket.
 * close() stops the nobles it made, the emulator, socat and the world's timers.
 */
export class SimRadio {
  readonly world: SimWorld;
  readonly emulator: HciEmulator;
  readonly pty: PtyPair;
  readonly #nobles = new Set<Noble>();
  #closed = false;

  private constructor(world: SimWorld, emulator: HciEmulator, pty: PtyPair) {
    this.world = world;
    this.emulator = emulator;
    this.pty = pty;
  }

  static async start(o: SimRadioOptions): Promise<SimRadio> {
    const pty = await PtyPair.open();
    try {
      const emulator = await HciEmulator.start({
        ...o,
        path: pty.lockPath,
        baudRate: BAUD_RATE,
        log: o.log ?? silentLogger,
      });
      return new SimRadio(o.world, emulator, pty);
    } catch (err) {
      await pty.close();
      throw err;
    }
  }

  /** The port a gateway-side noble opens. */
  get port(): string {
    return this.pty.gatewayPath;
  }

  /**
   * What to hand `withBindings('hci', …)`. noble's UART driver always asks for RTS/CTS flow
   * control (it drops a `flowControl` bind parameter); a pty ignores it, so that is harmless.
   */
  get bindingsOptions(): HciBindingsOptions {
    return { hciDriver: 'uart', bindParams: { uart: { port: this.port, baudRate: BAUD_RATE } } };
  }

  /** A new, independent noble on this radio, resolved once it reports poweredOn. */
  async noble(timeoutMs = 10_000): Promise<Noble> {
    const noble = withBindings('hci', this.bindingsOptions);
    this.#nobles.add(noble);
    await noble.waitForPoweredOnAsync(timeoutMs);
    return noble;
  }

  /** Stops a noble made by noble() (its UART closes; the radio stays up for others). */
  async stopNoble(noble: Noble): Promise<void> {
    if (!this.#nobles.delete(noble)) return;
    stopNoble(noble);
    // noble closes its serial port without a callback; let the close reach the pty first.
    await sleep(20);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const noble of [...this.#nobles]) await this.stopNoble(noble);
    await this.emulator.stop();
    await this.pty.close();
    this.world.close();
  }
}
