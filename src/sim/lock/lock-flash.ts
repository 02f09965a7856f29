import { EventKind, SealState } from '../../lock/codec/constants.js';
import type { LockEvent } from '../../lock/event-log.js';
import { sha256 } from '../../lock/identity.js';

/** A carrier key provisioned into a lock at the factory or by its owner (PROTOCOL.md §5.1). */
export interface CarrierKey {
  kid: string;
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
}

/** Thrown by the flash when the simulated supply fails in the middle of an operation. */
export class PowerLoss extends Error {
  constructor(readonly during: string) {
    super(`power lost during ${during}`);
    this.name = 'PowerLoss';
  }
}

export interface LockFlashOptions {
  manifest: Uint8Array;
  events: readonly LockEvent[];
  sealState: SealState;
  /** Bytes one bank holds: the largest manifest the lock accepts. Default 256 KiB. */
  capacity?: number;
  carrierKeys?: readonly CarrierKey[];
}

/** What a commit-event record switches along with it (one atomic write). */
export interface EventEffect {
  /** The staging bank becomes the active one; the staging area is emptied. */
  commit?: boolean;
  seal?: { state: SealState; ref?: string };
  /** The write event of the current staging area is logged. */
  stagingLogged?: boolean;
}

interface Bank {
  data: Uint8Array;
  /** Written by the commit before the switch; checked at the switch. */
  header: { size: number; sha256: Uint8Array } | undefined;
}

/**
 * The non-volatile state of a lock as firmware keeps it in flash, modelled as a sequence of
 * atomic operations so a test can cut the power between any two of them (or during a data
 * page write, which then lands torn):
 *
 * - two manifest banks; the inactive one is the WRITE staging area, with a persisted
 *   contiguous `staged` count written after the data it covers;
 * - the event log, append-only, one atomic record per entry;
 * - the commit record is the event log entry itself: appending the commit event switches
 *   the active bank and empties the staging area in the same write, so after a power loss
 *   the lock holds the old manifest (no commit event) or the new one (commit event), never
 *   a mixture and never a switch without its event;
 * - seal state changes travel in the record of the event that causes them, likewise;
 * - failed carrier authentications, so a power cycle does not reset the rate limit.
 *
 * Everything else a lock knows (session, challenge, carrier authorization) is RAM and is
 * lost with power.
 */
export class LockFlash {
  readonly capacity: number;
  readonly #banks: [Bank, Bank];
  #active: 0 | 1 = 0;
  #staged = 0;
  #stagingLogged = false;
  #events: LockEvent[];
  #seal: SealState;
  #sealRef: string | undefined;
  readonly #carrierKeys = new Map<string, Uint8Array>();
  #authFailures: number[] = [];
  /** Operations completed since the lock was made. */
  #operations = 0;
  /** Operation index at which the power fails; undefined = never. */
  #cutAt: number | undefined;

  constructor(options: LockFlashOptions) {
    this.capacity = options.capacity ?? 256 * 1024;
    this.#banks = [
      {
        data: Uint8Array.from(options.manifest),
        header: { size: options.manifest.byteLength, sha256: sha256(options.manifest) },
      },
      { data: new Uint8Array(0), header: undefined },
    ];
    this.#events = [...options.events];
    this.#seal = options.sealState;
    const lastSeal = this.#events.findLast((e) => e.kind === EventKind.Sealed);
    this.#sealRef = lastSeal ? Buffer.from(lastSeal.detail).toString('latin1') : undefined;
    for (const key of options.carrierKeys ?? []) this.#carrierKeys.set(key.kid, key.publicKey);
  }

  /** The manifest in the active bank. */
  get manifest(): Uint8Array {
    const bank = this.#banks[this.#active];
    return bank.data.subarray(0, bank.header?.size ?? 0);
  }

  get manifestHash(): Uint8Array {
    return this.#banks[this.#active].header?.sha256 ?? sha256(new Uint8Array(0));
  }

  /** Contiguous bytes in the staging area, from offset 0. */
  get staged(): number {
    return this.#staged;
  }

  /** The staging bank's bytes `[0, size)`, whatever they are. */
  stagedBytes(size: number): Uint8Array {
    return this.#staging().data.subarray(0, Math.min(size, this.#staged));
  }

  get stagingLogged(): boolean {
    return this.#stagingLogged;
  }

  get events(): readonly LockEvent[] {
    return this.#events;
  }

  get sealState(): SealState {
    return this.#seal;
  }

  /** The container number of the SEAL that closed the lock, while it is sealed. */
  get sealRef(): string | undefined {
    return this.#seal === SealState.Sealed ? this.#sealRef : undefined;
  }

  carrierKey(kid: string): Uint8Array | undefined {
    return this.#carrierKeys.get(kid);
  }

  /** Provisioning (factory or owner), not a field operation: never interrupted. */
  provisionCarrier(key: CarrierKey): void {
    this.#carrierKeys.set(key.kid, key.publicKey);
  }

  /** Failed carrier authentications at or after `sinceMs`. */
  authFailuresSince(sinceMs: number): number {
    return this.#authFailures.filter((t) => t >= sinceMs).length;
  }

  /** Operations completed so far; a test picks a cut point among them. */
  get operations(): number {
    return this.#operations;
  }

  /** The power fails during operation number `operations + n` (0: the very next one); undefined disarms. */
  cutPowerAfter(n: number | undefined): void {
    this.#cutAt = n === undefined ? undefined : this.#operations + n;
  }

  emptyStaging(): void {
    this.#op('staging erase', () => {
      this.#staged = 0;
      this.#stagingLogged = false;
    });
  }

  /** Writes WRITE data into the staging bank, then persists the grown `staged` count. */
  stage(off: number, data: Uint8Array): void {
    const bank = this.#staging();
    // The model allocates what is used (a train of simulated locks), not the full bank.
    if (bank.data.byteLength < off + data.byteLength) {
      const grown = new Uint8Array(
        Math.min(this.capacity, Math.max(off + data.byteLength, 2 * bank.data.byteLength)),
      );
      grown.set(bank.data);
      bank.data = grown;
    }
    this.#op(
      'staging data write',
      () => bank.data.set(data, off),
      // A page write cut short: part of the new bytes, then what the cells happen to hold.
      () => bank.data.set(data.subarray(0, data.byteLength >> 1), off),
    );
    const staged = Math.max(this.#staged, off + data.byteLength);
    this.#op('staged count write', () => {
      this.#staged = staged;
    });
  }

  recordAuthFailure(atMs: number): void {
    this.#op('auth failure record', () => {
      this.#authFailures = [...this.#authFailures.filter((t) => t >= atMs - 3_600_000), atMs];
    });
  }

  /** Writes the staging bank's header (size and SHA-256) ahead of the switch. */
  writeStagingHeader(size: number, hash: Uint8Array): void {
    this.#op('bank header write', () => {
      this.#staging().header = { size, sha256: Uint8Array.from(hash) };
    });
  }

  /** Appends one event and, in the same atomic record, what it switches. */
  append(event: LockEvent, effect: EventEffect = {}): void {
    this.#op('event record write', () => {
      this.#events.push(event);
      if (effect.commit) {
        this.#active = this.#active === 0 ? 1 : 0;
        this.#staged = 0;
        this.#stagingLogged = false;
      }
      if (effect.seal) {
        this.#seal = effect.seal.state;
        this.#sealRef = effect.seal.ref;
      }
      if (effect.stagingLogged) this.#stagingLogged = true;
    });
  }

  #staging(): Bank {
    return this.#banks[this.#active === 0 ? 1 : 0];
  }

  #op(what: string, apply: () => void, torn?: () => void): void {
    if (this.#cutAt !== undefined && this.#operations >= this.#cutAt) {
      this.#cutAt = undefined;
      torn?.();
      throw new PowerLoss(what);
    }
    apply();
    this.#operations++;
  }
}
