import fc from 'fast-check';
import t from 'tap';
import { ADVERTISING_LISTEN_MS } from '../../../src/conformance/lock/check-advertising.js';
import type { LockAdvertising } from '../../../src/conformance/lock/run.js';
import { runLockConformance } from '../../../src/conformance/lock/suite.js';
import { CtopError } from '../../../src/errors.js';

/**
 * ADV-1's judgement (PROTOCOL.md §13.2, §16) on advertising reports as a host receives them:
 * every interval plus the Core's 0–10 ms advDelay, events lost on the way, a scan response a
 * moment after its ADV_IND, the host's reading a few ms late. The kit itself against a
 * simulated lock over a real HCI controller is in test/cli/conformance-ble.test.ts.
 */

interface Air {
  intervalMs: number;
  /** Share of advertising events the kit does not hear. */
  loss: number;
  /** Up to this many ms between an event on air and the host reading its report. */
  jitterMs: number;
  scanResponses: boolean;
  seed: number;
}

/** mulberry32: each event lost independently (an LCG's successive draws are not). */
function randomFrom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

function reportsOnAir(air: Air): number[] {
  const random = randomFrom(air.seed);
  const reports: number[] = [];
  for (let at = random() * air.intervalMs; at < ADVERTISING_LISTEN_MS; at += air.intervalMs + random() * 10) {
    if (random() < air.loss) continue;
    const heard = 1000 + at + random() * air.jitterMs;
    reports.push(heard);
    if (air.scanResponses) reports.push(heard + 0.4 + random() * air.jitterMs);
  }
  return reports.sort((a, b) => a - b);
}

async function judge(advertising: LockAdvertising) {
  const report = await runLockConformance({
    open: async () => {
      throw new CtopError('E_TRANSPORT_OPEN', 'the advertising checks open no link');
    },
    transport: 'ble',
    advertising,
    groups: ['advertising'],
  });
  const result = report.results.find((r) => r.id === 'ADV-1')!;
  return { report, result };
}

const sealed = (reports: number[]): LockAdvertising => ({
  sealState: 1,
  reportsFor: async (ms) => {
    if (ms !== ADVERTISING_LISTEN_MS) throw new Error(`asked for ${ms} ms`);
    return reports;
  },
});

const air = (intervalMs: fc.Arbitrary<number>) =>
  fc.record({
    intervalMs,
    loss: fc.double({ min: 0, max: 0.4, noNaN: true }),
    jitterMs: fc.double({ min: 0, max: 2, noNaN: true }),
    scanResponses: fc.boolean(),
    seed: fc.integer(),
  });

/*
 * Up to four events in ten lost: a quarter of the gaps must be single intervals, and with
 * 3 s of listening a 40 % loss leaves too few of them in none of 200 000 listens (half lost:
 * 1 in 4 000, 60 %: 1 in 40 — a property drawing such losses would fail by chance).
 */
t.test('a lock advertising every 20 ms passes ADV-1, up to four events in ten lost', async () => {
  await fc.assert(
    fc.asyncProperty(air(fc.constant(20)), async (a) => {
      const { report, result } = await judge(sealed(reportsOnAir(a)));
      if (result.verdict !== 'pass') throw new Error(`${JSON.stringify(a)}: ${result.evidence}`);
      if (!report.conforms) throw new Error('a passing ADV-1 leaves the lock conforming');
    }),
    { numRuns: 300 },
  );
});

t.test('a lock advertising every 100 ms or slower fails ADV-1, however few events are lost', async (t) => {
  await fc.assert(
    fc.asyncProperty(air(fc.integer({ min: 100, max: 1000 })), async (a) => {
      const { report, result } = await judge(sealed(reportsOnAir({ ...a, loss: a.loss / 4 })));
      if (result.verdict !== 'fail')
        throw new Error(`${JSON.stringify(a)}: ${result.verdict} ${result.evidence}`);
      if (report.conforms) throw new Error('a failed MUST leaves the lock not conforming');
    }),
    { numRuns: 300 },
  );
  const { result } = await judge(
    sealed(reportsOnAir({ intervalMs: 100, loss: 0, jitterMs: 1, scanResponses: true, seed: 7 })),
  );
  t.match(
    result.evidence,
    /lower quartile of the gaps between them 10\d ms \(at most 32 for an advInterval of 20 ms\)/,
  );
});

t.test('a lock heard too seldom, or not at all, fails ADV-1 saying how often it was heard', async (t) => {
  const { result } = await judge(sealed([1000, 1020, 1045]));
  t.equal(result.verdict, 'fail');
  t.match(
    result.evidence,
    /^3 advertising events heard in 3 s with no link open: a lock advertising every 20 ms gives about 120/,
  );
  const silent = await judge(sealed([]));
  t.match(silent.result.evidence, /^0 advertising events heard in 3 s/);
});

t.test('ADV-1 does not apply to an unsealed lock, nor without a BLE link', async (t) => {
  let asked = false;
  const { result } = await judge({
    sealState: 0,
    reportsFor: async () => {
      asked = true;
      return [];
    },
  });
  t.equal(result.verdict, 'skip');
  t.match(result.evidence, /unsealed/);
  t.notOk(asked, 'nothing listened to');
  const tampered = await judge({
    ...sealed(reportsOnAir({ intervalMs: 20, loss: 0.1, jitterMs: 1, scanResponses: false, seed: 3 })),
    sealState: 2,
  });
  t.equal(tampered.result.verdict, 'pass', 'a tampered lock is judged like a sealed one');

  const serial = await runLockConformance({
    open: async () => {
      throw new CtopError('E_TRANSPORT_OPEN', 'no link in this test');
    },
    groups: ['advertising'],
  });
  const onSerial = serial.results.find((r) => r.id === 'ADV-1')!;
  t.equal(onSerial.verdict, 'skip');
  t.match(onSerial.evidence, /needs a BLE link/);
});
