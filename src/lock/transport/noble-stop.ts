import type { EventEmitter } from 'node:events';
import type { Noble } from '@stoprocent/noble';
import type { Logger } from '../../log.js';

/** Where noble's UART driver keeps its serial port (undefined for a native HCI socket). */
type NobleInternals = { _bindings?: { _hci?: { _socket?: { _serialDevice?: EventEmitter } } } };

/**
 * `noble.stop()`, and an error sink on the serial port it closes. The UART driver of
 * @stoprocent/bluetooth-hci-socket closes its port and removes every listener while HCI
 * commands it queued may still be written; such a write fails with EBADF after the close
 * and, with no 'error' listener left, is an uncaught exception that ends the process (2 of
 * 20 runs of test/sim/ble/power-on.test.ts before this). A native HCI socket has no such
 * port, and then this is `noble.stop()` alone.
 */
export function stopNoble(noble: Noble, log?: Logger): void {
  noble.stop();
  const port = (noble as unknown as NobleInternals)._bindings?._hci?._socket?._serialDevice;
  port?.on('error', (err: Error) =>
    log?.debug({ err: err.message }, 'HCI UART write after close ignored (the radio is stopping)'),
  );
}
