import { CtopError, isCtopError } from '../errors.js';
import { MessageType, WireError } from './codec/constants.js';
import { SessionState } from './conversation.js';
import { carrierAuthPayload } from './identity.js';
import { LockSession } from './session.js';

/** The lock's event-log head after a carrier operation (COMMIT_R, SEAL_R, UNSEAL_R). */
export interface ChainHead {
  ecount: number;
  ehead: Uint8Array;
}

/**
 * A session in which a carrier loads a lock (PROTOCOL.md §5.3, §8): after HELLO it proves
 * a provisioned carrier key (CHALLENGE, CARRIER_AUTH), then writes the manifest into the
 * lock's staging area (WRITE), switches to it (COMMIT) and seals the container (SEAL), or
 * opens it again (UNSEAL). Reading (AUTH, READ, EVENTS) works as in any session.
 */
export class CarrierSession extends LockSession {
  /** Set by a successful CARRIER_AUTH; WRITE, COMMIT, SEAL and UNSEAL need it. */
  #carrierKid: string | undefined;

  /**
   * CHALLENGE and CARRIER_AUTH (PROTOCOL.md §5.3): the carrier proves it holds a key the
   * lock has provisioned, which allows WRITE, COMMIT, SEAL and UNSEAL in this session.
   * `sign` signs the payload with the carrier key, so the key itself never reaches the
   * session. A refusal is E_PAIRING_CARRIER_AUTH.
   */
  async carrierAuthenticate(kid: string, sign: (payload: Uint8Array) => Uint8Array): Promise<void> {
    const info = this.expect(SessionState.Ready, 'carrierAuthenticate');
    const { body } = await this.request(MessageType.Challenge, {});
    try {
      await this.request(MessageType.CarrierAuth, {
        kid,
        sig: sign(carrierAuthPayload(info.id, body.nonce)),
      });
    } catch (err) {
      if (isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.AuthFailed) {
        throw new CtopError(
          'E_PAIRING_CARRIER_AUTH',
          `lock ${info.id} refused carrier key ${kid}: ${err.message}`,
          { cause: err, details: { lockId: info.id, kid } },
        );
      }
      throw err;
    }
    this.#carrierKid = kid;
  }

  /** The carrier key id this session is authorized with, if any. */
  get carrierKid(): string | undefined {
    return this.#carrierKid;
  }

  /** WRITE one chunk into the lock's staging area; resolves with the contiguous bytes staged. */
  async writeChunk(off: number, data: Uint8Array): Promise<number> {
    this.#expectCarrier('writeChunk');
    const { body } = await this.request(MessageType.Write, { off, data });
    return body.staged;
  }

  /** COMMIT: the lock checks size and SHA-256 of the staged bytes and switches to them atomically. */
  async commitManifest(size: number, hash: Uint8Array): Promise<ChainHead> {
    this.#expectCarrier('commitManifest');
    return (await this.request(MessageType.Commit, { size, hash })).body;
  }

  /** SEAL for a container (ISO 6346): the lock appends a `sealed` event. */
  async seal(time: number, container: string): Promise<ChainHead> {
    this.#expectCarrier('seal');
    return (await this.request(MessageType.Seal, { t: time, ref: container })).body;
  }

  /** UNSEAL, authenticated and logged with its reason (at most 64 bytes of UTF-8). */
  async unseal(time: number, reason: string): Promise<ChainHead> {
    this.#expectCarrier('unseal');
    return (await this.request(MessageType.Unseal, { t: time, reason })).body;
  }

  #expectCarrier(operation: string): void {
    this.expect(SessionState.Ready, operation);
    if (this.#carrierKid === undefined) {
      throw new CtopError('E_LOCK_STATE', `${operation}() needs carrierAuthenticate() first`);
    }
  }
}
