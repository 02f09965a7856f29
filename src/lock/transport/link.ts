/**
 * A byte link to one lock: serial port, BLE GATT pair, or anything else that moves bytes.
 * It knows nothing of lines or frames. Rules every implementation follows (after
 * node-serialport's bindings-interface):
 *
 * - `read()` resolves with at least one byte. One read at a time.
 * - `write()` resolves when the bytes are handed to the OS or radio; it applies the link's
 *   own flow control (MTU splitting, write-without-response credits) and nothing else.
 * - `close()` is idempotent. Pending and later `read()`/`write()` calls reject with
 *   CtopError E_TRANSPORT_CLOSED and `details.canceled === true`.
 * - Any other rejection (E_LOCK_DISCONNECTED) means the link is gone; the caller closes it
 *   and may open a new one.
 */
export interface LockLink {
  readonly kind: 'serial' | 'ble';
  /** Device path or BLE address, for logs and read records. */
  readonly endpoint: string;
  /**
   * Nominal bytes per second the lock can send us (serial: baud/10 for 8N1), used only to
   * scale timeouts. Undefined when unknown.
   */
  readonly bytesPerSecond: number | undefined;
  read(): Promise<Uint8Array>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Opens a fresh link to the same lock; called again after the link dropped. */
export type LinkOpener = () => Promise<LockLink>;
