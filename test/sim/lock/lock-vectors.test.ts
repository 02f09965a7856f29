import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  type EventChainVector,
  type FrameVector,
  MANIFEST,
  type SessionStep,
  type SessionVector,
  vectorCarrierKey,
  vectorLock,
  vectorLockKey,
} from '../../../scripts/lib/protocol-vectors.js';
import { SealState } from '../../../src/lock/codec/constants.js';
import { Frame } from '../../../src/lock/codec/frame.js';
import { LockEngine } from '../../../src/sim/lock/lock-engine.js';
import { SimulatedLock } from '../../../src/sim/lock/simulated-lock.js';
import { ManualClock } from '../../helpers/store.js';

/**
 * The lock simulator as a firmware vendor's conformance run (PROTOCOL.md §15): the carrier
 * conversation of the vectors — CHALLENGE, CARRIER_AUTH, WRITE, COMMIT, SEAL, UNSEAL — fed
 * line by line to the engine must produce the vectors' answer lines byte for byte, and its
 * log must be event-chain.json.
 */

const vector = <T>(name: string): T =>
  JSON.parse(
    readFileSync(new URL(`../../../firmware-protocol/vectors/${name}.json`, import.meta.url), 'utf8'),
  ) as T;

const T0 = 1_790_000_000;

t.test('the carrier conversation of the vectors, answered byte for byte', async (t) => {
  const chain = vector<EventChainVector>('event-chain');
  const nonce = Buffer.from(
    (vector<FrameVector>('challenge-response').body as { nonce: { hex: string } }).nonce.hex,
    'hex',
  );
  const clock = new ManualClock(T0 * 1000);
  const engine = new LockEngine({
    lockId: chain.lockId,
    identity: { publicKey: vectorLockKey.publicKey, secretKey: vectorLockKey.secretKey },
    manifest: new Uint8Array(0),
    events: [],
    sealState: SealState.Unsealed,
    carrierKeys: [{ kid: 'KTZE-EXPRESS-01', publicKey: vectorCarrierKey.publicKey }],
    randomBytes: () => Uint8Array.from(nonce),
    clock,
  });
  const exchange = (request: string, answer: string) => {
    const response = engine.handle(Frame.fromLine(Buffer.from(vector<FrameVector>(request).line))!);
    t.equal(
      response?.toLine().toString('latin1').trimEnd(),
      vector<FrameVector>(answer).line,
      `${request} → ${answer}`,
    );
  };
  const authorize = () => {
    engine.handle(Frame.fromLine(Buffer.from(vector<FrameVector>('hello-request').line))!);
    exchange('challenge-request', 'challenge-response');
    exchange('carrier-auth-request', 'carrier-auth-response');
  };

  authorize();
  exchange('write-request', 'write-response');
  clock.advance(30_000);
  exchange('commit-request', 'commit-response');
  clock.advance(30_000);
  exchange('seal-request', 'seal-response');
  t.same(
    engine.events.map((e) => [
      e.counter,
      e.time,
      Buffer.from(e.hash).toString('hex'),
      Buffer.from(e.sig).toString('hex'),
    ]),
    chain.events.map((e) => [e.counter, e.time, e.hash, e.sig]),
    'the log is event-chain.json',
  );
  clock.set((T0 + 7200) * 1000); // a new session: the last one idled out
  authorize();
  exchange('unseal-request', 'unseal-response');
  t.equal(engine.info().seal, SealState.Unsealed);
});

t.test('session-duplicate-seq: the lock answers a repeated seq once (§9.2)', async (t) => {
  const v = vector<SessionVector>('session-duplicate-seq');
  const chain = vector<EventChainVector>('event-chain');
  const { events } = vectorLock();
  const engine = new LockEngine({
    lockId: chain.lockId,
    identity: { publicKey: vectorLockKey.publicKey, secretKey: vectorLockKey.secretKey },
    manifest: MANIFEST,
    events,
    firmware: 'acme-lock 2.4.1',
    clock: new ManualClock((T0 + 3600) * 1000),
  });
  const answers: string[] = [];
  for (const step of v.steps) {
    if (!('line' in step) || step.from !== 'gateway') continue;
    const answer = engine.handle(Frame.fromLine(Buffer.from(step.line, 'latin1'))!);
    if (answer) answers.push(answer.toLine().toString('latin1').trimEnd());
  }
  const expected = v.steps.flatMap((s) => ('line' in s && s.from === 'lock' ? [s.line] : []));
  t.same(answers, expected, 'exactly the vector’s answers, none to the duplicate');
  t.same(
    answers.map((a) => Frame.fromLine(Buffer.from(a))!.seq),
    v.expect.answered,
  );

  const careless = new LockEngine({
    lockId: chain.lockId,
    identity: { publicKey: vectorLockKey.publicKey, secretKey: vectorLockKey.secretKey },
    manifest: MANIFEST,
    events,
    clock: new ManualClock((T0 + 3600) * 1000),
    quirks: { answerDuplicates: true },
  });
  let count = 0;
  for (const step of v.steps) {
    if ('line' in step && step.from === 'gateway' && careless.handle(Frame.fromLine(Buffer.from(step.line))!))
      count++;
  }
  t.equal(count, 4, 'the answerDuplicates quirk answers the duplicate too');
});

for (const name of ['session-binary-framing', 'session-binary-declined']) {
  t.test(`${name}: the simulated lock on a BLE link sends the vector's bytes exactly (§13.4)`, async (t) => {
    const v = vector<SessionVector>(name);
    const { events } = vectorLock();
    const engine = new LockEngine({
      lockId: 'SSL-KZ-000123',
      identity: { publicKey: vectorLockKey.publicKey, secretKey: vectorLockKey.secretKey },
      manifest: MANIFEST,
      events,
      firmware: 'acme-lock 2.4.1',
      clock: new ManualClock((T0 + 3600) * 1000),
    });
    const lock = new SimulatedLock(engine, name === 'session-binary-declined' ? { lineOnly: true } : {});
    const sent: Buffer[] = [];
    lock.attach({
      write: (b) => sent.push(Buffer.from(b)),
      queued: 0,
      dropLink: () => {},
      binaryFraming: true,
    });
    const wire = (s: SessionStep) =>
      'line' in s
        ? Buffer.from(`${s.line}\n`, 'latin1')
        : 'binary' in s
          ? Buffer.from(s.binary, 'hex')
          : Buffer.alloc(0);
    for (const step of v.steps) if ('from' in step && step.from === 'gateway') lock.receive(wire(step));
    lock.detach();
    const expected = Buffer.concat(
      v.steps.flatMap((s) => ('from' in s && s.from === 'lock' ? [wire(s)] : [])),
    );
    t.equal(Buffer.concat(sent).toString('hex'), expected.toString('hex'), 'byte for byte');
    t.equal(
      v.steps.filter((s) => 'binary' in s).length > 0,
      v.expect.framing === 'binary',
      `framing: ${String(v.expect.framing)}`,
    );
  });
}
