import { CtopError } from '../errors.js';
import { sha256 } from './identity.js';

/**
 * The manifest as it arrives in chunks, possibly out of order and across several links.
 * `verifiedBytes` is the contiguous prefix received with good CRCs: where a resumed read
 * continues. The end-to-end SHA-256 is checked once everything is in.
 */
export class ManifestAssembly {
  readonly size: number;
  readonly sha256: Buffer;
  #bytes: Buffer;
  /** Received ranges beyond the prefix, [start, end), sorted and disjoint. */
  #ranges: [number, number][] = [];
  #prefix = 0;

  constructor(size: number, expectedSha256: Uint8Array, prefix?: Uint8Array) {
    this.size = size;
    this.sha256 = Buffer.from(expectedSha256);
    this.#bytes = Buffer.alloc(size);
    if (prefix && prefix.byteLength > 0) this.accept(0, prefix.subarray(0, size));
  }

  get verifiedBytes(): number {
    return this.#prefix;
  }

  get complete(): boolean {
    return this.#prefix === this.size;
  }

  /** True when the lock still announces the manifest this assembly was started for. */
  matches(size: number, hash: Uint8Array): boolean {
    return size === this.size && this.sha256.equals(hash);
  }

  /** The verified prefix, for a checkpoint that survives a restart. */
  prefix(): Buffer {
    return this.#bytes.subarray(0, this.#prefix);
  }

  accept(offset: number, data: Uint8Array): void {
    const end = offset + data.byteLength;
    if (offset < 0 || end > this.size) {
      throw new CtopError(
        'E_LOCK_PROTOCOL',
        `chunk [${offset}, ${end}) lies outside the manifest of ${this.size} bytes`,
      );
    }
    this.#bytes.set(data, offset);
    if (offset > this.#prefix) {
      this.#ranges.push([offset, end]);
      this.#ranges.sort((a, b) => a[0] - b[0]);
    } else {
      this.#prefix = Math.max(this.#prefix, end);
    }
    while (this.#ranges.length > 0 && this.#ranges[0]![0] <= this.#prefix) {
      this.#prefix = Math.max(this.#prefix, this.#ranges.shift()![1]);
    }
  }

  /** Forgets everything past the prefix: a new link re-requests it. */
  dropUnverified(): void {
    this.#ranges = [];
  }

  /** The whole manifest, after its SHA-256 matched what the lock announced. */
  verify(): Buffer {
    if (!this.complete) {
      throw new CtopError('E_LOCK_STATE', `manifest incomplete: ${this.#prefix} of ${this.size} bytes`);
    }
    const actual = sha256(this.#bytes);
    if (!actual.equals(this.sha256)) {
      throw new CtopError('E_LOCK_HASH', 'manifest SHA-256 does not match the hash the lock announced', {
        details: { expected: this.sha256.toString('hex'), actual: actual.toString('hex'), size: this.size },
      });
    }
    return this.#bytes;
  }
}
