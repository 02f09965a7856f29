import { DEFAULT_EVENT_MASK, DEFAULT_LE_EVENT_MASK, Evt } from './hci-constants.js';

function bit(mask: bigint, n: number): boolean {
  return ((mask >> BigInt(n)) & 1n) === 1n;
}

/**
 * Set Event Mask and LE Set Event Mask (Vol 4 Part E §7.3.1, §7.8.1): which events the
 * host wants. At power-on LE Meta events are masked, so a host that never sets the masks
 * hears no advertising reports — as with a real controller.
 */
export class EventMasks {
  #page1 = DEFAULT_EVENT_MASK;
  #le = DEFAULT_LE_EVENT_MASK;

  reset(): void {
    this.#page1 = DEFAULT_EVENT_MASK;
    this.#le = DEFAULT_LE_EVENT_MASK;
  }

  /** From the 8 parameter octets of Set Event Mask. */
  setPage1(params: Buffer): void {
    this.#page1 = params.readBigUInt64LE(0);
  }

  /** From the 8 parameter octets of LE Set Event Mask. */
  setLe(params: Buffer): void {
    this.#le = params.readBigUInt64LE(0);
  }

  /** Event code `code` (bit code − 1 of the page-1 mask). */
  allows(code: number): boolean {
    return bit(this.#page1, code - 1);
  }

  /** LE Meta subevent `sub`: needs the LE Meta bit and bit sub − 1 of the LE mask. */
  allowsLe(sub: number): boolean {
    return this.allows(Evt.LeMeta) && bit(this.#le, sub - 1);
  }
}
