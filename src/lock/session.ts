import { CtopError, isCtopError, toCtopError } from '../errors.js';
import { MAX_CHUNK, MessageType, SUPPORTED_VERSIONS, WireError } from './codec/constants.js';
import type { LockInfo, MessageOf } from './codec/messages.js';
import { LockConversation, SessionState } from './conversation.js';
import { eventFromWire, type LockEvent } from './event-log.js';
import { authPayload, verifySignature } from './identity.js';
import type { ManifestAssembly } from './manifest-assembly.js';

export {
  emptySessionStats,
  type SessionOptions,
  SessionState,
  type SessionStats,
} from './conversation.js';

export interface AuthProof {
  nonce: Uint8Array;
  signature: Uint8Array;
}

/**
 * The gateway's reading session with a lock over one link (PROTOCOL.md §9): HELLO, AUTH,
 * windowed READ, EVENTS, BYE. Framing, request matching and retransmission are the
 * conversation's (conversation.ts, request-matcher.ts); the carrier's commands are the
 * carrier session's (carrier-session.ts). One session per link: after a fatal error or a
 * dropped link, the reader opens a new link and a new session and resumes.
 */
export class LockSession extends LockConversation {
  /** The lock's INFO as of HELLO or the last refreshInfo(). */
  get info(): LockInfo | undefined {
    return this.lockInfo;
  }

  get version(): number {
    return this.protocolVersion;
  }

  /** The window and chunk actually used: ours capped by what the lock announced. */
  get transfer(): { window: number; chunk: number } {
    return {
      window: Math.max(1, Math.min(this.options.window, this.lockInfo?.win ?? 1)),
      chunk: Math.min(this.options.chunk, this.lockInfo?.chunk ?? MAX_CHUNK),
    };
  }

  /** HELLO: agrees on the protocol version and learns who the lock says it is. */
  async hello(): Promise<LockInfo> {
    this.expect(SessionState.Opening, 'hello');
    let response: MessageOf<MessageType.HelloResponse>;
    try {
      // HELLO always travels as version 1 so that any lock can parse it (PROTOCOL.md §6).
      response = await this.request(
        MessageType.Hello,
        {
          v: [...SUPPORTED_VERSIONS],
          gw: this.options.gatewayId,
          ...(this.offersBinary ? { bin: true } : {}),
        },
        1,
      );
    } catch (err) {
      if (isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.Version) {
        throw this.fail(
          new CtopError(
            'E_LOCK_VERSION',
            `the lock speaks protocol versions ${JSON.stringify(err.details.versions)}`,
            {
              details: { ours: SUPPORTED_VERSIONS, theirs: err.details.versions },
            },
          ),
        );
      }
      throw err;
    }
    const { v, bin: _framing, ...info } = response.body;
    if (!SUPPORTED_VERSIONS.includes(v)) {
      throw this.fail(
        new CtopError('E_LOCK_VERSION', `the lock chose version ${v}, which we did not offer`, {
          details: { v },
        }),
      );
    }
    this.protocolVersion = v;
    this.checkInfo(info);
    this.sessionState = SessionState.Ready;
    this.log.debug(
      { lockId: info.id, fw: info.fw, msize: info.msize, ecount: info.ecount, framing: this.framing },
      'lock said hello',
    );
    return info;
  }

  async refreshInfo(): Promise<LockInfo> {
    this.expect(SessionState.Ready, 'refreshInfo');
    const { body } = await this.request(MessageType.Info, {});
    if (this.lockInfo && body.id !== this.lockInfo.id) {
      throw this.fail(
        new CtopError('E_LOCK_PROTOCOL', `lock id changed from ${this.lockInfo.id} to ${body.id}`),
      );
    }
    this.checkInfo(body);
    return body;
  }

  /**
   * AUTH: the lock signs our fresh nonce together with the manifest hash and event head it
   * announced. A lock that cannot is a clone; so is one whose key differs from the key
   * pinned for its id.
   */
  async authenticate(pinnedKey?: Uint8Array): Promise<AuthProof> {
    const info = this.expect(SessionState.Ready, 'authenticate');
    if (pinnedKey && !Buffer.from(pinnedKey).equals(info.key)) {
      throw this.fail(
        new CtopError(
          'E_LOCK_CLONED',
          `lock ${info.id} presents an identity key different from the pinned one`,
          {
            details: { lockId: info.id, presented: Buffer.from(info.key).toString('hex') },
          },
        ),
      );
    }
    const nonce = this.random(32);
    const { body } = await this.request(MessageType.Auth, { nonce });
    const payload = authPayload({
      lockId: info.id,
      nonce,
      manifestHash: info.mhash,
      eventHead: info.ehead,
      eventCount: info.ecount,
    });
    if (!verifySignature(payload, body.sig, info.key)) {
      throw this.fail(
        new CtopError('E_LOCK_CLONED', `lock ${info.id} failed to sign the challenge with its identity key`, {
          details: { lockId: info.id },
        }),
      );
    }
    this.sessionState = SessionState.Authenticated;
    return { nonce, signature: body.sig };
  }

  /**
   * Reads what `assembly` still lacks, from its verified prefix on, with a window of READ
   * requests in flight. Progress is reported after every chunk.
   */
  async readManifest(
    assembly: ManifestAssembly,
    onChunk?: (assembly: ManifestAssembly) => void,
  ): Promise<void> {
    const info = this.expect(SessionState.Authenticated, 'readManifest');
    if (!assembly.matches(info.msize, info.mhash)) {
      throw new CtopError('E_LOCK_STATE', 'the assembly belongs to another manifest than the lock announces');
    }
    assembly.dropUnverified();
    const { window, chunk } = this.transfer;
    // On BLE the window is refilled half at a time: the READs of one refill share a packet
    // (BleLink.write), and each packet of requests costs the lock's answers air (§13.3).
    const refill = this.link.kind === 'ble' ? Math.ceil(window / 2) : 1;
    let next = assembly.verifiedBytes;
    let inFlight = 0;
    let firstError: Error | undefined;
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        if (firstError) {
          if (inFlight === 0) reject(firstError);
          return;
        }
        const wanted = Math.ceil((info.msize - next) / chunk);
        if (window - inFlight < Math.min(refill, wanted)) return;
        while (inFlight < window && next < info.msize) {
          const off = next;
          const len = Math.min(chunk, info.msize - off);
          next += len;
          inFlight++;
          this.#readChunk(off, len).then(
            (data) => {
              inFlight--;
              if (!firstError) {
                assembly.accept(off, data);
                onChunk?.(assembly);
              }
              pump();
            },
            (err: Error) => {
              inFlight--;
              firstError ??= err;
              pump();
            },
          );
        }
        if (inFlight === 0 && next >= info.msize) resolve();
      };
      pump();
    }).catch((err: Error) => {
      throw this.fail(toCtopError(err));
    });
  }

  async #readChunk(off: number, len: number): Promise<Uint8Array> {
    const { body } = await this.request(MessageType.Read, { off, len });
    if (body.off !== off || body.data.byteLength !== len) {
      throw new CtopError(
        'E_LOCK_PROTOCOL',
        `READ [${off}, +${len}) answered with [${body.off}, +${body.data.byteLength})`,
        { details: { off, len, answeredOff: body.off, answeredLen: body.data.byteLength } },
      );
    }
    return body.data;
  }

  /** EVENTS: the whole log from `from` on, as many requests as it takes. */
  async readEvents(from = 1): Promise<LockEvent[]> {
    const info = this.expect(SessionState.Authenticated, 'readEvents');
    const events: LockEvent[] = [];
    let next = from;
    while (next <= info.ecount) {
      const { body } = await this.request(MessageType.Events, { from: next, max: 64 });
      if (body.ev.length === 0) break;
      const last = body.ev[body.ev.length - 1]![0];
      if (last < next) {
        throw this.fail(
          new CtopError('E_LOCK_PROTOCOL', `EVENTS from ${next} answered with events up to ${last}`),
        );
      }
      if (events.length + body.ev.length > this.options.maxEvents) {
        throw this.fail(
          new CtopError('E_LOCK_OVERSIZE', `the lock sends more than ${this.options.maxEvents} events`, {
            details: { limit: this.options.maxEvents },
          }),
        );
      }
      for (const wire of body.ev) events.push(eventFromWire(wire));
      next = last + 1;
    }
    return events;
  }

  /** BYE, best effort, then close. */
  async bye(): Promise<void> {
    if (this.sessionState !== SessionState.Closed && !this.failed) {
      try {
        await this.request(MessageType.Bye, {}, undefined, 0);
      } catch (err) {
        this.log.debug({ code: toCtopError(err).code }, 'BYE not answered');
      }
    }
    await this.close();
  }

  protected checkInfo(info: LockInfo): void {
    if (info.msize > this.options.maxManifestBytes) {
      throw this.fail(
        new CtopError('E_LOCK_OVERSIZE', `lock ${info.id} announces a manifest of ${info.msize} bytes`, {
          details: { lockId: info.id, size: info.msize, limit: this.options.maxManifestBytes },
        }),
      );
    }
    if (info.ecount > this.options.maxEvents) {
      throw this.fail(
        new CtopError('E_LOCK_OVERSIZE', `lock ${info.id} announces ${info.ecount} events`, {
          details: { lockId: info.id, count: info.ecount, limit: this.options.maxEvents },
        }),
      );
    }
    this.lockInfo = info;
  }
}
