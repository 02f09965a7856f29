import { Status } from './hci-constants.js';
import { addressFromHci } from './hci-events.js';

/**
 * The controller's Filter Accept List (Core 5.3 Vol 6 Part B §4.3.1; HCI commands Vol 4
 * Part E §7.8.14–7.8.17): the devices an LE Create Connection with Initiator_Filter_Policy 1
 * may connect to — whichever of them the initiator hears first. Entries are keyed by address
 * type and address, as the spec keys them.
 */
export class FilterAcceptList {
  readonly size: number;
  readonly #entries = new Set<string>();

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 0 && size <= 255)) {
      throw new TypeError('filterAcceptListSize must be an integer in 0..255');
    }
    this.size = size;
  }

  get length(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }

  /** LE Add Device To Filter Accept List: Address_Type u8, Address (6 octets, LE). */
  add(p: Buffer): number {
    const key = entryKey(p);
    if (key === undefined) return Status.InvalidParameters;
    if (this.#entries.has(key)) return Status.Success;
    if (this.#entries.size >= this.size) return Status.MemoryCapacityExceeded;
    this.#entries.add(key);
    return Status.Success;
  }

  /** LE Remove Device From Filter Accept List: same parameters as add. */
  remove(p: Buffer): number {
    const key = entryKey(p);
    if (key === undefined) return Status.InvalidParameters;
    this.#entries.delete(key);
    return Status.Success;
  }

  has(addressType: 'public' | 'random', address: string): boolean {
    return this.#entries.has(`${addressType}/${address.toLowerCase()}`);
  }
}

function entryKey(p: Buffer): string | undefined {
  if (p.length < 7) return undefined;
  const type = p.readUInt8(0);
  // 0x00 public, 0x01 random; 0xFF (anonymous advertisements) has no address to match here.
  if (type !== 0 && type !== 1) return undefined;
  return `${type === 1 ? 'random' : 'public'}/${addressFromHci(p.subarray(1, 7))}`;
}
