import t, { type Test } from 'tap';
import { isCtopError } from '../../../src/errors.js';
import { CarrierSession } from '../../../src/lock/carrier-session.js';
import { EventKind, MessageType, SealState, WireError } from '../../../src/lock/codec/constants.js';
import { Frame } from '../../../src/lock/codec/frame.js';
import { LineFramer } from '../../../src/lock/codec/line-framer.js';
import {
  type BodyOf,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageTypeCode,
} from '../../../src/lock/codec/messages.js';
import { verifyEventChain } from '../../../src/lock/event-log.js';
import { carrierAuthPayload, sha256 } from '../../../src/lock/identity.js';
import {
  generateLockIdentity,
  LockEngine,
  type LockEngineOptions,
} from '../../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../../src/sim/lock/simulated-lock.js';
import { type TestCarrier, testCarrier } from '../../helpers/carrier.js';
import { ManualClock } from '../../helpers/store.js';

/** The lock side of PROTOCOL.md §12, spoken to over an in-memory link (no ptys: protocol logic only). */

const LOCK_ID = 'SSL-KZ-000777';
const OLD = Buffer.from('the manifest of the previous journey');

interface Rig {
  engine: LockEngine;
  lock: SimulatedLock;
  carrier: TestCarrier;
  clock: ManualClock;
  /** A fresh link and session, HELLO done. */
  session(): Promise<CarrierSession>;
  /** A session that also passed CARRIER_AUTH. */
  carrierSession(): Promise<CarrierSession>;
}

function rig(t: Test, options: Partial<LockEngineOptions> = {}): Rig {
  const carrier = testCarrier();
  const clock = new ManualClock(Date.UTC(2025, 4, 20, 6, 0));
  const engine = new LockEngine({
    lockId: LOCK_ID,
    identity: generateLockIdentity(),
    manifest: OLD,
    sealState: SealState.Unsealed,
    carrierKeys: [carrier.provisioned],
    clock,
    chunk: 64,
    ...options,
  });
  const lock = new SimulatedLock(engine);
  const sessions: CarrierSession[] = [];
  t.teardown(() => Promise.all(sessions.map((s) => s.close())));
  const session = async () => {
    const s = new CarrierSession(memoryLinkTo(lock), { gatewayId: 'GW-TEST', retries: 1 });
    sessions.push(s);
    await s.hello();
    return s;
  };
  return {
    engine,
    lock,
    carrier,
    clock,
    session,
    carrierSession: async () => {
      const s = await session();
      await s.carrierAuthenticate(carrier.carrier.kid, carrier.carrier.sign);
      return s;
    },
  };
}

/** The wire error a request got, its CtopError code, or 'accepted'. */
async function outcome(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return 'accepted';
  } catch (err) {
    if (isCtopError(err, 'E_LOCK_REFUSED')) return err.details.wireCode as number;
    if (isCtopError(err)) return err.code;
    throw err;
  }
}

type Request = { [T in MessageTypeCode]: [T, BodyOf<T>] }[MessageTypeCode];

/**
 * A gateway that ignores the protocol: frames sent as given on a fresh link, one at a time,
 * each answer awaited. The session refuses such sequences locally; the lock must too.
 */
class RawClient {
  readonly #link;
  readonly #framer = new LineFramer({ lineTimeoutMs: 5000 });
  readonly #answers: Message[] = [];
  #seq = 100;

  constructor(lock: SimulatedLock) {
    this.#link = memoryLinkTo(lock);
    this.#framer.on('data', (line: Buffer) => {
      const frame = Frame.fromLine(line);
      if (frame) this.#answers.push(decodeMessage(frame));
    });
  }

  async send(...[type, body]: Request): Promise<Message> {
    await this.#link.write(encodeMessage(type, this.#seq++, body as never).toLine());
    while (this.#answers.length === 0) this.#framer.write(await this.#link.read());
    return this.#answers.shift()!;
  }

  close(): Promise<void> {
    return this.#link.close();
  }
}

async function raw(lock: SimulatedLock, requests: Request[]): Promise<Message[]> {
  const client = new RawClient(lock);
  const answers: Message[] = [];
  for (const request of requests) answers.push(await client.send(...request));
  await client.close();
  return answers;
}

const errorCode = (m: Message | undefined) => (m?.type === MessageType.Error ? m.body.code : 'ok');

t.test('an unauthenticated writer is refused: nothing staged, nothing logged', async (t) => {
  const r = rig(t);
  const s = await r.session();
  t.equal(await outcome(s.writeChunk(0, Buffer.from('x'))), 'E_LOCK_STATE', 'the session refuses locally');
  const hello: Request = [MessageType.Hello, { v: [1], gw: 'EVIL' }];
  const answers = await raw(r.lock, [
    hello,
    [MessageType.Write, { off: 0, data: Buffer.from('evil') }],
    [MessageType.Commit, { size: 4, hash: sha256(Buffer.from('evil')) }],
    [MessageType.Seal, { t: 1, ref: 'MSKU4002711' }],
    [MessageType.Unseal, { t: 1, reason: 'curious' }],
    // CARRIER_AUTH without a CHALLENGE, then with a signature by a key the lock does not know.
    [MessageType.CarrierAuth, { kid: r.carrier.carrier.kid, sig: new Uint8Array(64) }],
    [MessageType.Challenge, {}],
  ]);
  t.same(
    answers.slice(1, 5).map(errorCode),
    Array(4).fill(WireError.NotAuthorized),
    'WRITE COMMIT SEAL UNSEAL',
  );
  t.equal(errorCode(answers[5]), WireError.BadState, 'CARRIER_AUTH needs a CHALLENGE first');
  const challenge = answers[6];
  t.equal(challenge?.type, MessageType.ChallengeResponse);
  const stranger = testCarrier('cn-carrier-unknown');
  const nonce = challenge?.type === MessageType.ChallengeResponse ? challenge.body.nonce : new Uint8Array(32);
  const forged = await raw(r.lock, [
    hello,
    [MessageType.Challenge, {}],
    // Signed over the nonce of the previous session: a replay.
    [
      MessageType.CarrierAuth,
      { kid: r.carrier.carrier.kid, sig: r.carrier.carrier.sign(carrierAuthPayload(LOCK_ID, nonce)) },
    ],
    [MessageType.Write, { off: 0, data: Buffer.from('evil') }],
  ]);
  t.equal(errorCode(forged[2]), WireError.AuthFailed, 'a replayed CARRIER_AUTH fails');
  t.equal(errorCode(forged[3]), WireError.NotAuthorized);
  t.equal(
    await outcome((await r.session()).carrierAuthenticate(stranger.carrier.kid, stranger.carrier.sign)),
    'E_PAIRING_CARRIER_AUTH',
    'a carrier key not provisioned in the lock',
  );
  t.equal(r.engine.info().staged, 0);
  t.same(r.engine.manifest, OLD);
  t.same(r.engine.events, [], 'nothing logged');
});

t.test('at most 5 failed CARRIER_AUTH per hour, even a right key is refused after them', async (t) => {
  const r = rig(t);
  const wrong = testCarrier(r.carrier.carrier.kid); // same kid, another secret
  for (let i = 0; i < 5; i++) {
    t.equal(
      await outcome((await r.session()).carrierAuthenticate(wrong.carrier.kid, wrong.carrier.sign)),
      'E_PAIRING_CARRIER_AUTH',
    );
  }
  r.clock.advance(59 * 60_000);
  const locked = await r.session();
  const err = await locked.carrierAuthenticate(r.carrier.carrier.kid, r.carrier.carrier.sign).catch((e) => e);
  t.ok(isCtopError(err, 'E_PAIRING_CARRIER_AUTH'), 'the genuine key is refused inside the hour');
  t.match(String(err.message), /too many/);
  r.engine.powerOn(); // a power cycle does not reset the count: it lives in flash
  t.equal(
    await outcome((await r.session()).carrierAuthenticate(r.carrier.carrier.kid, r.carrier.carrier.sign)),
    'E_PAIRING_CARRIER_AUTH',
  );
  r.clock.advance(2 * 60_000);
  t.equal(
    await outcome((await r.session()).carrierAuthenticate(r.carrier.carrier.kid, r.carrier.carrier.sign)),
    'accepted',
    'an hour after the first failures the key works again',
  );
});

t.test(
  'WRITE: offset 0 empties the staging area, overlaps overwrite, a gap says where to continue',
  async (t) => {
    const r = rig(t);
    const s = await r.carrierSession();
    const bytes = Buffer.from('A'.repeat(64) + 'B'.repeat(64) + 'C'.repeat(10));
    t.equal(await s.writeChunk(0, bytes.subarray(0, 64)), 64);
    t.equal(await s.writeChunk(32, bytes.subarray(32, 96)), 96, 'overlap');
    const gap = await s.writeChunk(128, bytes.subarray(128)).catch((e) => e);
    t.ok(isCtopError(gap, 'E_LOCK_REFUSED'));
    t.equal(gap.details.wireCode, WireError.Gap);
    t.equal(gap.details.staged, 96, 'GAP carries staged');
    t.equal(await s.writeChunk(96, bytes.subarray(96)), bytes.byteLength);
    t.equal(r.engine.info().staged, bytes.byteLength, 'INFO reports staged');
    t.equal(await s.writeChunk(0, Buffer.from('Z')), 1, 'a WRITE at 0 starts a new staging area');
    t.same(
      r.engine.events.map((e) => [e.kind, Buffer.from(e.detail).toString()]),
      [
        [EventKind.Write, r.carrier.carrier.kid],
        [EventKind.Write, r.carrier.carrier.kid],
      ],
      'one write event per staging area, naming the carrier key',
    );
    t.same(r.engine.manifest, OLD, 'staging never touches the manifest');
  },
);

t.test('COMMIT checks size and SHA-256, swaps atomically, and is safe to repeat', async (t) => {
  const r = rig(t);
  const s = await r.carrierSession();
  const next = Buffer.from('N'.repeat(150));
  await s.writeChunk(0, next.subarray(0, 64));
  t.equal(
    await outcome(s.commitManifest(150, sha256(next))),
    WireError.HashMismatch,
    'COMMIT of more than staged',
  );
  await s.writeChunk(64, next.subarray(64, 128));
  await s.writeChunk(128, next.subarray(128));
  t.equal(await outcome(s.commitManifest(150, sha256(OLD))), WireError.HashMismatch, 'wrong hash');
  t.same(r.engine.manifest, OLD, 'a refused COMMIT changes nothing');
  const head = await s.commitManifest(150, sha256(next));
  t.same(Buffer.from(r.engine.manifest), next);
  t.equal(r.engine.info().staged, 0, 'the staging area is the old bank now, empty');
  const again = await s.commitManifest(150, sha256(next));
  t.same(again, head, 'a retransmitted COMMIT is answered with the same head, nothing appended');
  const last = r.engine.events.at(-1)!;
  t.equal(last.kind, EventKind.Commit);
  t.same(
    Buffer.from(last.detail),
    sha256(next).subarray(0, 8),
    'commit detail: first 8 bytes of the SHA-256',
  );
  t.equal(head.ecount, last.counter);
});

t.test('SEAL, then WRITE and COMMIT refused with SEALED; UNSEAL is authenticated and logged', async (t) => {
  const r = rig(t);
  const s = await r.carrierSession();
  const head = await s.seal(1_747_720_800, 'MSKU4002711');
  t.equal(r.engine.info().seal, SealState.Sealed);
  t.same(await s.seal(1_747_720_800, 'MSKU4002711'), head, 'a repeated SEAL for the same container');
  t.equal(await outcome(s.seal(1, 'TGHU8823466')), WireError.Sealed, 'SEAL for another container');
  t.equal(await outcome(s.writeChunk(0, Buffer.from('x'))), WireError.Sealed, 'a sealed lock refuses WRITE');
  t.equal(await outcome(s.commitManifest(OLD.byteLength, sha256(Buffer.from('x')))), WireError.Sealed);
  t.equal(r.engine.info().staged, 0);
  const unsealed = await s.unseal(1_747_724_400, 'inspection at Dostyk');
  t.equal(r.engine.info().seal, SealState.Unsealed);
  t.same(await s.unseal(1_747_724_400, 'inspection at Dostyk'), unsealed, 'a repeated UNSEAL');
  t.equal(await outcome(s.unseal(2, 'again')), WireError.NotSealed);
  t.equal(await outcome(s.unseal(2, 'й'.repeat(40))), WireError.Malformed, 'a reason over 64 bytes of UTF-8');
  const events = r.engine.events;
  t.same(
    events.map((e) => e.kind),
    [EventKind.Sealed, EventKind.Unsealed],
  );
  t.equal(Buffer.from(events[0]!.detail).toString(), 'MSKU4002711', 'sealed detail: the container');
  t.equal(Buffer.from(events[1]!.detail).toString(), 'inspection at Dostyk', 'unsealed detail: the reason');
  const info = r.engine.info();
  t.same(verifyEventChain(LOCK_ID, info.key, events, { count: info.ecount, head: info.ehead }), []);
});

t.test('opening the shackle without UNSEAL: an opened event, seal state 2, chain intact', async (t) => {
  const r = rig(t);
  r.engine.openShackle();
  t.same(r.engine.events, [], 'opening an unsealed lock is no event');
  const s = await r.carrierSession();
  await s.seal(1, 'MSKU4002711');
  r.engine.openShackle();
  r.engine.detectTamper(Buffer.from('case'));
  r.engine.reportLowBattery();
  const info = r.engine.info();
  t.equal(info.seal, SealState.Tampered);
  t.same(
    r.engine.events.map((e) => e.kind),
    [EventKind.Sealed, EventKind.Opened, EventKind.Tamper, EventKind.LowBattery],
  );
  t.same(verifyEventChain(LOCK_ID, info.key, r.engine.events, { count: info.ecount, head: info.ehead }), []);
  t.same(
    r.engine.events.map((e) => e.counter),
    [1, 2, 3, 4],
    'counters consecutive',
  );
  // Re-sealed by someone holding a carrier key: the opening stays in the log.
  const again = await r.carrierSession();
  await again.seal(2, 'MSKU4002711');
  t.equal(r.engine.info().seal, SealState.Sealed);
  t.equal(r.engine.events.filter((e) => e.kind === EventKind.Opened).length, 1);
});

t.test('carrier authorization ends with the session: HELLO, BYE, idle timeout, link drop', async (t) => {
  const r = rig(t);
  const s = await r.carrierSession();
  t.equal(await s.writeChunk(0, Buffer.from('x')), 1);
  const idle = await r.carrierSession();
  r.clock.advance(31_000);
  t.equal(await outcome(idle.writeChunk(0, Buffer.from('y'))), WireError.BadState, 'idle 30 s: back to IDLE');
  const again = await r.carrierSession();
  t.equal(await again.writeChunk(0, Buffer.from('y')), 1);
  r.lock.detach();
  const after = await raw(r.lock, [
    [MessageType.Hello, { v: [1], gw: 'GW' }],
    [MessageType.Write, { off: 0, data: Buffer.from('z') }],
  ]);
  t.equal(errorCode(after[1]), WireError.NotAuthorized, 'a new link starts unauthorized');
  t.equal(
    await outcome(s.writeChunk(0, Buffer.from('x'))),
    'E_LOCK_TIMEOUT',
    'the lock no longer listens on the old link',
  );
});

t.test(
  'a retransmitted CARRIER_AUTH after a lost answer is accepted again, not counted as a failure',
  async (t) => {
    const r = rig(t);
    const client = new RawClient(r.lock);
    t.teardown(() => client.close());
    await client.send(MessageType.Hello, { v: [1], gw: 'GW' });
    const challenge = await client.send(MessageType.Challenge, {});
    if (challenge.type !== MessageType.ChallengeResponse) throw new Error('no challenge');
    const { kid, sign } = r.carrier.carrier;
    const sig = sign(carrierAuthPayload(LOCK_ID, challenge.body.nonce));
    t.equal(errorCode(await client.send(MessageType.CarrierAuth, { kid, sig })), 'ok');
    t.equal(
      errorCode(await client.send(MessageType.CarrierAuth, { kid, sig })),
      'ok',
      'the same request again',
    );
    const other = sign(carrierAuthPayload(LOCK_ID, new Uint8Array(32)));
    t.equal(
      errorCode(await client.send(MessageType.CarrierAuth, { kid, sig: other })),
      WireError.BadState,
      'another CARRIER_AUTH without a CHALLENGE',
    );
    t.equal(r.engine.flash.authFailuresSince(0), 0, 'none of it counts as a failure');
    t.equal(errorCode(await client.send(MessageType.Write, { off: 0, data: Buffer.from('x') })), 'ok');
  },
);
